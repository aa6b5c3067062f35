"""The JSON job routes through a real server: validation, ownership, cross-site refusal, CORS, headers.

The runner here is the stand-in (tests/web/apikit.py) so that jobs stay where the test puts them;
the real runner's behaviour end to end is in test_api_end_to_end.py.
"""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.web._keys import SESSION_COOKIE, WebOptions
from audiofetch.web._middlewares import SECURITY_HEADERS
from tests.web.apikit import SAME_ORIGIN, admin_settings, bearer, build_app, login

PAGE = "http://127.0.0.1:9/album"


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return build_app(admin_settings(settings), stand_in=True)


async def submit(client: TestClient, **fields: object) -> tuple[int, dict[str, object]]:
    response = await client.post("/api/download", json={"url": PAGE, **fields}, headers=SAME_ORIGIN)
    body: dict[str, object] = await response.json()
    return response.status, body


async def test_submit_returns_202_with_the_job_and_a_client_cookie(client: TestClient) -> None:
    response = await client.post(
        "/api/download",
        json={"url": PAGE, "name": "Live", "workers": 3, "prefer": ["flac", "mp3"]},
        headers=SAME_ORIGIN,
    )
    assert response.status == 202
    job = await response.json()
    assert response.headers["Location"] == f"/api/status/{job['id']}"
    assert (job["url"], job["name"], job["mode"], job["workers"], job["prefer"]) == (
        PAGE,
        "Live",
        "browser",
        3,
        ["flac", "mp3"],
    )
    assert job["duplicate"] is False and job["status"] == "queued"
    assert "client_id" not in job
    assert SESSION_COOKIE in response.cookies


async def test_submit_accepts_a_form(client: TestClient) -> None:
    response = await client.post(
        "/api/download", data={"url": PAGE, "workers": "2", "prefer": "ogg,mp3"}, headers=SAME_ORIGIN
    )
    assert response.status == 202
    job = await response.json()
    assert (job["workers"], job["prefer"]) == (2, ["ogg", "mp3"])


async def test_identical_submissions_give_one_job(client: TestClient) -> None:
    status, first = await submit(client)
    status2, second = await submit(client, url="HTTP://127.0.0.1:9/album#part")
    assert (status, status2) == (202, 202)
    assert second["id"] == first["id"] and second["duplicate"] is True


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": ""}, "url is required"),
        ({"url": 5}, "url must be a string"),
        ({"mode": "cloud"}, "mode must be 'browser' or 'server'"),
        ({"workers": 0}, "workers must be a whole number from 1 to 20"),
        ({"workers": "many"}, "workers must be a whole number from 1 to 20"),
        ({"workers": True}, "workers must be a whole number from 1 to 20"),
        ({"prefer": [1]}, 'prefer must be a list of formats such as ["flac", "mp3"]'),
        ({"prefer": "mp3,../x"}, "prefer must list at most 10 format names such as flac or mp3"),
        ({"name": "n" * 201}, "name is longer than 200 characters"),
    ],
)
async def test_bad_fields_are_400_with_a_message(
    client: TestClient, fields: dict[str, object], message: str
) -> None:
    status, body = await submit(client, **fields)
    assert status == 400
    assert body == {"error": message}


async def test_bodies_that_are_not_objects_are_400(client: TestClient) -> None:
    response = await client.post("/api/download", json=[PAGE], headers=SAME_ORIGIN)
    assert response.status == 400
    assert await response.json() == {"error": "the request body must be a JSON object"}
    response = await client.post(
        "/api/download", data=b"url=x", headers={**SAME_ORIGIN, "Content-Type": "text/plain"}
    )
    assert response.status == 400
    assert await response.json() == {"error": "send JSON (Content-Type: application/json) or a form"}


async def test_status_and_unknown_ids(client: TestClient) -> None:
    _, job = await submit(client)
    response = await client.get(f"/api/status/{job['id']}")
    assert response.status == 200
    assert (await response.json())["id"] == job["id"]
    response = await client.get("/api/status/nope")
    assert response.status == 404
    assert await response.json() == {"error": "no job with id 'nope'"}


async def test_job_list_shows_a_visitor_its_own_jobs_and_the_admin_all(
    aiohttp_client, client: TestClient
) -> None:
    other = await aiohttp_client(client.server)
    _, mine = await submit(client)
    _, theirs = await submit(other, url="http://127.0.0.1:9/other")
    listed = (await (await client.get("/api/jobs")).json())["jobs"]
    assert [job["id"] for job in listed] == [mine["id"]]
    admin = await aiohttp_client(client.server)
    token = await login(admin)
    listed = (await (await admin.get("/api/jobs", headers=bearer(token))).json())["jobs"]
    assert [job["id"] for job in listed] == [theirs["id"], mine["id"]]
    response = await client.get("/api/jobs?limit=9999")
    assert response.status == 400
    assert await response.json() == {"error": "limit must be a whole number from 0 to 200"}


async def test_only_the_owner_or_the_admin_may_change_a_job(aiohttp_client, client: TestClient) -> None:
    _, job = await submit(client)
    stranger = await aiohttp_client(client.server)
    for method, path in (("DELETE", f"/api/jobs/{job['id']}"), ("POST", f"/api/jobs/{job['id']}/cancel")):
        response = await stranger.request(method, path, headers=SAME_ORIGIN)
        assert response.status == 403
        assert await response.json() == {
            "error": "only the client that started this job, or the admin, may change it"
        }
    response = await client.delete(f"/api/jobs/{job['id']}", headers=SAME_ORIGIN)
    assert response.status == 409
    assert await response.json() == {"error": "the job is still running; cancel it first"}
    response = await client.post(f"/api/jobs/{job['id']}/cancel", headers=SAME_ORIGIN)
    assert response.status == 200
    assert (await response.json())["status"] == "cancelled"
    response = await client.delete(f"/api/jobs/{job['id']}", headers=SAME_ORIGIN)
    assert response.status == 200
    assert await response.json() == {"id": job["id"], "deleted": True}
    assert (await client.get(f"/api/status/{job['id']}")).status == 404
    response = await client.delete(f"/api/jobs/{job['id']}", headers=SAME_ORIGIN)
    assert response.status == 404


async def test_the_admin_may_delete_anyone_s_job(aiohttp_client, client: TestClient) -> None:
    _, job = await submit(client)
    await client.post(f"/api/jobs/{job['id']}/cancel", headers=SAME_ORIGIN)
    admin = await aiohttp_client(client.server)
    token = await login(admin)
    response = await admin.delete(f"/api/jobs/{job['id']}", headers=bearer(token))
    assert response.status == 200


async def test_server_mode_needs_the_admin(aiohttp_client, client: TestClient) -> None:
    status, _ = await submit(client, mode="server")
    assert status == 401
    token = await login(client)
    response = await client.post("/api/download", json={"url": PAGE, "mode": "server"}, headers=bearer(token))
    assert response.status == 202
    assert (await response.json())["mode"] == "server"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_cross_site_unsafe_requests_are_refused(client: TestClient, headers: dict[str, str]) -> None:
    _, job = await submit(client)
    for method, path in (
        ("POST", "/api/download"),
        ("DELETE", f"/api/jobs/{job['id']}"),
        ("POST", f"/api/jobs/{job['id']}/cancel"),
        ("POST", "/api/auth/logout"),
    ):
        response = await client.request(method, path, json={"url": PAGE}, headers=headers)
        assert response.status == 403, (method, path)
        assert await response.json() == {"error": "cross-site request refused"}
    assert (await (await client.get(f"/api/status/{job['id']}")).json())["status"] == "queued"


async def test_a_cookie_without_browser_headers_is_refused_but_a_bare_script_is_not(
    client: TestClient,
) -> None:
    _, job = await submit(client)  # the client now holds a session cookie
    response = await client.post(f"/api/jobs/{job['id']}/cancel")
    assert response.status == 403
    client.session.cookie_jar.clear()
    response = await client.post("/api/download", json={"url": "http://127.0.0.1:9/script"})
    assert response.status == 202
    assert SESSION_COOKIE not in response.cookies


async def test_same_origin_by_origin_header_is_allowed(client: TestClient) -> None:
    origin = f"http://{client.host}:{client.port}"
    response = await client.post("/api/download", json={"url": PAGE}, headers={"Origin": origin})
    assert response.status == 202


async def test_security_headers_on_api_and_pages(client: TestClient) -> None:
    for path in ("/api/jobs", "/", "/api/nothing"):
        response = await client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_is_off_by_default(client: TestClient) -> None:
    response = await client.options(
        "/api/download", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_origins_open_the_api_to_named_sites(aiohttp_client, settings: Settings) -> None:
    options = WebOptions(heartbeat=0.2, cors_origins=("https://app.example",))
    client: TestClient = await aiohttp_client(
        build_app(admin_settings(settings), options=options, stand_in=True)
    )
    friend = {"Origin": "https://app.example"}
    response = await client.options(
        "/api/download",
        headers={
            **friend,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    response = await client.post("/api/download", json={"url": PAGE}, headers=friend)
    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers.getall("Vary")
    response = await client.post(
        "/api/download", json={"url": PAGE}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_preview_requires_a_url(client: TestClient) -> None:
    response = await client.get("/api/preview")
    assert response.status == 400
    assert await response.json() == {"error": "url is required"}


async def test_stream_and_zip_errors_come_before_any_byte(client: TestClient) -> None:
    response = await client.get("/api/stream/nope")
    assert response.status == 404
    assert await response.json() == {"error": "no job with id 'nope'"}
    response = await client.get("/zip")
    assert response.status == 400
    assert await response.json() == {"error": "url is required"}
