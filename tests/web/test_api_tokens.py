"""API tokens: created by the admin, used as ``Authorization: Bearer`` on the API, the events and /zip,
revoked (refused at once), and a browser-mode token kept out of the admin's routes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import stat
import zipfile
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from audiofetch.web._apitokens import TOKENS_FILE, ApiTokenStore
from tests.web.apikit import REAL_RUNNER, SAME_ORIGIN, admin_settings, bearer, build_app, login
from tests.web.upstream import Upstream

ALBUM = [("one.mp3", 20_000), ("two.mp3", 30_000)]


@pytest.fixture
async def origin(aiohttp_server: Any) -> TestServer:
    site = Upstream()
    site.album("/album", ALBUM)
    server: TestServer = await aiohttp_server(site.app())
    return server


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    made: TestClient = await aiohttp_client(build_app(admin_settings(settings)))
    return made


async def make_token(client: TestClient, name: str, kind: str) -> dict[str, Any]:
    admin = await login(client)
    response = await client.post(
        "/api/admin/tokens", json={"name": name, "kind": kind}, headers=bearer(admin)
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def first_sse_event(client: TestClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    while True:
        frame = await asyncio.wait_for(response.content.readuntil(b"\r\n\r\n"), 30)
        if not frame.startswith(b":"):
            response.close()
            event: dict[str, Any] = json.loads(frame.split(b"data: ", 1)[1])
            return event


async def test_a_token_is_shown_once_listed_by_name_and_stored_hashed(
    client: TestClient, settings: Settings
) -> None:
    made = await make_token(client, "backup script", "browser")
    assert made["token"].startswith("afk_") and made["kind"] == "browser" and made["name"] == "backup script"
    admin = await login(client)
    listing = await (await client.get("/api/admin/tokens", headers=bearer(admin))).json()
    assert listing == {"tokens": [{k: made[k] for k in ("id", "name", "kind", "created_at")}]}
    saved = settings.data_dir / TOKENS_FILE
    assert made["token"] not in saved.read_text() and made["id"] in saved.read_text()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    reloaded = ApiTokenStore.load(saved)  # what a restarted server would know
    assert reloaded.check(made["token"]) is not None
    assert reloaded.check(made["token"][:-1] + ("A" if made["token"][-1] != "A" else "B")) is None


async def test_bad_token_requests_are_refused_in_words(client: TestClient) -> None:
    admin = await login(client)
    for body in ({"kind": "browser"}, {"name": "x", "kind": "root"}, {"name": "x" * 81}):
        response = await client.post("/api/admin/tokens", json=body, headers=bearer(admin))
        assert response.status == 400
        assert "error" in await response.json()
    response = await client.delete("/api/admin/tokens/0123456789ab", headers=bearer(admin))
    assert response.status == 404
    response = await client.get("/api/status/nope", headers=bearer("afk_0123456789ab_" + "x" * 43))
    assert response.status == 401
    assert "revoked" in (await response.json())["error"]


async def test_only_the_admin_makes_tokens(client: TestClient) -> None:
    response = await client.post("/api/admin/tokens", json={"name": "mine"})
    assert response.status == 401
    response = await client.get("/api/admin/tokens")
    assert response.status == 401


async def test_a_browser_mode_token_cannot_reach_admin_routes(client: TestClient, origin: TestServer) -> None:
    token = (await make_token(client, "phone", "browser"))["token"]
    fresh = bearer(token)
    client.session.cookie_jar.clear()  # the admin's login cookie must not help
    for method, path in (
        ("GET", "/api/admin/tokens"),
        ("POST", "/api/admin/tokens"),
        ("DELETE", "/api/admin/tokens/0123456789ab"),
        ("GET", "/api/downloads"),
        ("GET", "/api/downloads/Harbour/zip"),
    ):
        response = await client.request(method, path, headers=fresh, json={"name": "x"})
        assert response.status == 401, (method, path)
    body = {"url": str(origin.make_url("/album")), "mode": "server"}
    response = await client.post("/api/download", json=body, headers=fresh)
    assert response.status == 401
    me = await (await client.get("/api/auth/me", headers=fresh)).json()
    assert me["admin"] is False


async def test_an_admin_token_is_the_admin(client: TestClient) -> None:
    token = (await make_token(client, "ops", "admin"))["token"]
    client.session.cookie_jar.clear()
    response = await client.get("/api/admin/tokens", headers=bearer(token))
    assert response.status == 200
    assert (await (await client.get("/api/auth/me", headers=bearer(token))).json())["admin"] is True


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_create_use_on_download_events_and_zip_then_revoke(
    client: TestClient, origin: TestServer
) -> None:
    made = await make_token(client, "script", "browser")
    admin = await login(client)
    client.session.cookie_jar.clear()
    auth = bearer(made["token"])
    page = str(origin.make_url("/album"))

    response = await client.post("/api/download", json={"url": page}, headers=auth)
    assert response.status == 202, await response.text()
    job = await response.json()
    event = await first_sse_event(client, f"/api/events?job={job['id']}", auth)
    assert event["job_id"] == job["id"]
    mine = await (await client.get("/api/jobs", headers=auth)).json()
    assert [j["id"] for j in mine["jobs"]] == [job["id"]]  # its own jobs...
    others = await (await client.get("/api/jobs")).json()
    assert others["jobs"] == []  # ...which an anonymous visitor does not see

    response = await client.get("/zip", params={"url": page, "name": "Harbour"}, headers=auth)
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert sorted(n for n in archive.namelist() if n.endswith(".mp3")) == ["01 - one.mp3", "02 - two.mp3"]

    live = await client.get(f"/api/events?job={job['id']}", headers=auth)  # open while it is revoked
    assert live.status == 200
    response = await client.delete(f"/api/admin/tokens/{made['id']}", headers=bearer(admin))
    assert response.status == 200
    with contextlib.suppress(aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
        await asyncio.wait_for(live.content.read(), 30)  # heartbeats would keep it open forever: it is cut
    refused = [
        await client.post("/api/download", json={"url": page}, headers=auth),
        await client.get(f"/api/events?job={job['id']}", headers=auth),
        await client.get("/zip", params={"url": page}, headers=auth),
        await client.get("/api/jobs", headers=auth),
    ]
    assert [r.status for r in refused] == [401, 401, 401, 401]
    for response in refused:
        assert "revoked" in (await response.json())["error"]


async def test_the_admin_page_creates_shows_once_and_revokes(client: TestClient) -> None:
    response = await client.get("/admin/tokens")
    assert response.status == 401
    await login(client)
    html = await (await client.get("/admin/tokens")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf is not None and "No API tokens yet" in html
    form = {"name": "phone shortcut", "kind": "browser", "csrf_token": csrf.group(1)}
    response = await client.post("/admin/tokens", data=form, headers=SAME_ORIGIN)
    assert response.status == 201
    created = await response.text()
    shown = re.search(r'id="new-token-value"[^>]*>(afk_[^<]+)<', created)
    assert shown is not None
    token = shown.group(1)
    assert (await client.get("/api/jobs", headers=bearer(token))).status == 200
    again = await (await client.get("/admin/tokens")).text()
    assert token not in again and "phone shortcut" in again  # listed by name, never shown again
    token_id = re.search(r'data-token="([0-9a-f]{12})"', again)
    assert token_id is not None
    response = await client.post(
        f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf.group(1)}, headers=SAME_ORIGIN
    )
    assert response.status == 200 and "No API tokens yet" in await response.text()  # after the 303
    assert (await client.get("/api/jobs", headers=bearer(token))).status == 401
    forged = await client.post(
        "/admin/tokens", data={"name": "x", "csrf_token": "x" * 86}, headers=SAME_ORIGIN
    )
    assert forged.status == 403


def test_nodes_sharing_the_data_folder_see_each_others_tokens_and_revocations(tmp_path: Any) -> None:
    """Two stores on one file stand for two nodes on one data folder: a token made on one works on the
    other at once, and a revocation on the other refuses it on the first at once."""
    path = tmp_path / TOKENS_FILE
    first, second = ApiTokenStore.load(path), ApiTokenStore.load(path)
    record, secret = first.create("script", "browser", 1.0)
    found = second.check(secret)
    assert found is not None and found.id == record.id
    assert [token.id for token in second.list()] == [record.id]
    assert second.revoke(record.id) is not None
    assert first.check(secret) is None
    assert first.list() == []
