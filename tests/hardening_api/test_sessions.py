"""Sessions and auth under attack, beyond tests/web: expired and foreign-key cookies holding a genuine
token, login CSRF by form, every admin route against bad bearer tokens, lookalike Origins with the
admin's own credentials, and event streams opened with a forged admin token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient as BaseTestClient
from cryptography.fernet import Fernet

from audiofetch.config import Settings
from audiofetch.web._auth import issue_token
from audiofetch.web._keys import KEYRING_KEY, SESSION_COOKIE
from audiofetch.web._openapi import openapi_document
from tests.conftest import free_port
from tests.web.apikit import ADMIN_PASSWORD, SAME_ORIGIN, bearer, login

TestClient = BaseTestClient[web.Request, web.Application]
LIFETIME = 1440 * 60  # ACCESS_TOKEN_EXPIRE_MINUTES default, in seconds: cookie and token lifetime
DEAD_PAGE = f"http://127.0.0.1:{free_port()}/page"  # a closed loopback port: the job fails at once


async def me(client: TestClient, **headers: str) -> dict[str, Any]:
    response = await client.get("/api/auth/me", headers=headers)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def seal(fernet: Fernet, session: Mapping[str, object], *, created: float, sealed_at: float) -> str:
    """A session cookie value as ``SessionCookies`` writes it, made at any time with any key."""
    data = json.dumps({"created": int(created), "session": dict(session)}).encode()
    return fernet.encrypt_at_time(data, int(sealed_at)).decode()


def cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


# -- cookies -------------------------------------------------------------------------------------------


async def test_only_a_current_cookie_under_the_server_key_holding_a_current_token_is_the_admin(
    client: TestClient, app: web.Application
) -> None:
    token = await login(client)
    client.session.cookie_jar.clear()
    keys = app[KEYRING_KEY]
    own, now = keys.cookie_fernet(), time.time()
    genuine = {"client": "client:someone", "token": token}
    expired_token = issue_token(keys.token, "admin", 60, now - 3600)
    foreign_token = issue_token(b"k" * 32, "admin", 3600, now)

    # The control: the same recipe with everything current is the admin, so each refusal below is
    # down to the one thing that differs.
    assert (await me(client, **cookie(seal(own, genuine, created=now, sealed_at=now))))["admin"] is True
    refused = {
        "sealed too long ago": seal(own, genuine, created=now, sealed_at=now - LIFETIME - 60),
        "session too old": seal(own, genuine, created=now - LIFETIME - 60, sealed_at=now),
        "sealed in the future": seal(own, genuine, created=now, sealed_at=now + 3600),
        "another server's key": seal(Fernet(Fernet.generate_key()), genuine, created=now, sealed_at=now),
        "expired token": seal(own, {**genuine, "token": expired_token}, created=now, sealed_at=now),
        "token under another key": seal(own, {**genuine, "token": foreign_token}, created=now, sealed_at=now),
        "token not a string": seal(own, {**genuine, "token": 12}, created=now, sealed_at=now),
    }
    for why, value in refused.items():
        assert (await me(client, **cookie(value)))["admin"] is False, why
        response = await client.get("/api/downloads", headers={**cookie(value), **SAME_ORIGIN})
        assert response.status == 401, why


# -- login CSRF ------------------------------------------------------------------------------------------


def lookalike_origins(client: TestClient) -> list[dict[str, str]]:
    """Headers a browser would send from pages that are not this server's own origin."""
    host, port = client.host, client.port
    assert port is not None
    return [
        {"Origin": "null"},  # sandboxed iframe, data: URL
        {"Origin": f"http://{host}:{port + 1}"},  # same host, other port
        {"Origin": f"https://{host}:{port}"},  # same host and port, other scheme
        {"Origin": f"http://localhost:{port}"},  # another name for this machine
        {"Origin": f"http://evil.{host}.nip.io:{port}", "Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ]


@pytest.mark.parametrize("encoding", ["form", "text/plain", "json"])
async def test_a_cross_site_login_with_the_right_password_is_refused(
    client: TestClient, encoding: str
) -> None:
    await client.post("/api/download", json={"url": DEAD_PAGE}, headers=SAME_ORIGIN)  # the victim's session
    assert client.session.cookie_jar.filter_cookies(client.make_url("/")).get(SESSION_COOKIE) is not None
    for headers in lookalike_origins(client):
        if encoding == "form":
            sent = await client.post("/api/auth/login", data={"password": ADMIN_PASSWORD}, headers=headers)
        elif encoding == "text/plain":  # an HTML form with enctype=text/plain needs no preflight
            plain = {**headers, "Content-Type": "text/plain"}
            sent = await client.post("/api/auth/login", data=f"password={ADMIN_PASSWORD}", headers=plain)
        else:
            sent = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=headers)
        assert sent.status == 403, headers
        assert "Set-Cookie" not in sent.headers, headers
        assert (await me(client))["admin"] is False, headers


async def test_refused_cross_site_logins_do_not_spend_the_login_budget(client: TestClient) -> None:
    """Otherwise any site could lock the admin out through its visitors' browsers."""
    for _ in range(20):
        response = await client.post(
            "/api/auth/login", data={"password": "wrong guess!"}, headers={"Origin": "null"}
        )
        assert response.status == 403
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200


# -- bearer tokens on every admin route ------------------------------------------------------------------


def admin_operations() -> list[tuple[str, str]]:
    """The operations the document marks as admin-only (``security`` with the admin's schemes), with
    their paths filled in; the extension's own token scheme is not the admin's."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if schemes & {"bearer", "cookie"}:
                found.append(
                    (method.upper(), path.replace("{name}", "Album").replace("{id}", "0123456789ab"))
                )
    return found


def test_the_document_marks_the_download_folder_and_api_token_routes_as_admin_only() -> None:
    assert sorted(admin_operations()) == [
        ("DELETE", "/api/admin/tokens/0123456789ab"),
        ("DELETE", "/api/downloads/Album"),
        ("GET", "/api/admin/tokens"),
        ("GET", "/api/downloads"),
        ("GET", "/api/downloads/Album/zip"),
        ("POST", "/api/admin/tokens"),
    ]


BAD_AUTHORIZATION = [
    "forged",
    "expired",
    "revoked",
    "visitor subject",
    "Bearer",
    "Bearer   ",
    "Basic YWRtaW46YWRtaW4=",
    "Bearer af1.e30.AAAA",
    "Bearer " + "A" * 3000,
    "Bearer af1..",
]


async def authorization(kind: str, client: TestClient, app: web.Application) -> str:
    key, now = app[KEYRING_KEY].token, time.time()
    if kind == "forged":
        return f"Bearer {issue_token(b'x' * 32, 'admin', 3600, now)}"
    if kind == "expired":
        return f"Bearer {issue_token(key, 'admin', 60, now - 120)}"
    if kind == "visitor subject":
        return f"Bearer {issue_token(key, 'visitor', 3600, now)}"
    if kind == "revoked":
        token = await login(client)
        client.session.cookie_jar.clear()
        assert (await client.post("/api/auth/logout", headers=bearer(token))).status == 200
        return f"Bearer {token}"
    return kind


@pytest.mark.parametrize("kind", BAD_AUTHORIZATION)
async def test_every_admin_route_answers_401_to_a_bad_bearer_token(
    client: TestClient, app: web.Application, settings: Settings, kind: str
) -> None:
    folder = settings.data_dir / "downloads" / "Album"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01 - One.mp3").write_bytes(b"ID3" + b"\0" * 64)
    header = {"Authorization": await authorization(kind, client, app)}
    server_mode = ("POST", "/api/download")
    for method, path in [*admin_operations(), server_mode]:
        body = {"url": DEAD_PAGE, "mode": "server"} if (method, path) == server_mode else None
        response = await client.request(method, path, json=body, headers=header)
        assert response.status == 401, (kind, method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "error" in await response.json()
    assert (await me(client, **header))["admin"] is False
    assert (folder / "01 - One.mp3").exists()


async def test_a_forged_admin_token_cannot_change_someone_else_s_job(
    client: TestClient, app: web.Application
) -> None:
    created = await client.post("/api/download", json={"url": DEAD_PAGE}, headers=SAME_ORIGIN)
    job_id = (await created.json())["id"]
    forged = bearer(issue_token(b"x" * 32, "admin", 3600, time.time()))
    async with aiohttp.ClientSession() as stranger:  # no cookie: the bearer header alone counts
        for method, path in (
            ("POST", f"/api/jobs/{job_id}/cancel"),
            ("POST", f"/api/jobs/{job_id}/retry"),
            ("DELETE", f"/api/jobs/{job_id}"),
        ):
            async with stranger.request(method, client.make_url(path), headers=forged) as response:
                assert response.status == 403, (method, path)
    assert (await client.get(f"/api/status/{job_id}")).status == 200


# -- the admin's own credentials sent from a lookalike origin ---------------------------------------------


def unsafe_operations(job_id: str) -> list[tuple[str, str]]:
    """Every POST and DELETE in the document, with real ids in the paths."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method in item:
            if method in ("post", "delete"):
                found.append((method.upper(), path.replace("{id}", job_id).replace("{name}", "Album")))
    return found


async def test_no_unsafe_operation_accepts_the_admin_s_credentials_from_a_lookalike_origin(
    client: TestClient, settings: Settings
) -> None:
    (settings.data_dir / "downloads" / "Album").mkdir(parents=True)
    token = await login(client)  # the client now holds the admin's cookie too
    created = await client.post("/api/download", json={"url": DEAD_PAGE}, headers=SAME_ORIGIN)
    job_id = (await created.json())["id"]
    operations = unsafe_operations(job_id)
    assert len(operations) == 11
    for headers in lookalike_origins(client):
        for method, path in operations:
            for credentials in ({}, bearer(token)):
                sent = {**headers, **credentials}
                body = {"url": DEAD_PAGE, "password": ADMIN_PASSWORD}
                response = await client.request(method, path, json=body, headers=sent)
                assert response.status == 403, (method, path, sent)
    assert (settings.data_dir / "downloads" / "Album").is_dir()
    assert (await client.get(f"/api/status/{job_id}")).status == 200
    assert (await me(client))["admin"] is True  # the refused logout did not log the admin out
    jobs = (await (await client.get("/api/jobs")).json())["jobs"]
    assert [job["id"] for job in jobs] == [job_id]  # no refused POST started a job


async def test_event_handshakes_with_the_admin_s_credentials_from_a_lookalike_origin_are_refused(
    client: TestClient,
) -> None:
    token = await login(client)
    for headers in lookalike_origins(client):
        for credentials in ({}, bearer(token)):
            sent = {**headers, **credentials}
            response = await client.get("/api/events", headers=sent)
            assert response.status == 403, sent
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect("/ws", headers=sent)
            assert refused.value.status == 403, sent


async def next_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive_str(), 30))
    return event


async def test_a_forged_admin_token_on_the_event_stream_sees_only_its_own_jobs(
    client: TestClient,
) -> None:
    token = await login(client)
    forged = bearer(issue_token(b"x" * 32, "admin", 3600, time.time()))
    async with aiohttp.ClientSession() as stranger, aiohttp.ClientSession() as admin:
        url = client.make_url("/ws")
        async with (
            stranger.ws_connect(url, headers=forged) as spy,
            admin.ws_connect(url, headers=bearer(token)) as ws,
        ):
            created = await client.post("/api/download", json={"url": DEAD_PAGE}, headers=SAME_ORIGIN)
            victim_job = (await created.json())["id"]
            while (await next_event(ws))["job_id"] != victim_job:  # the admin sees the victim's job
                pass
            # The spy's own job comes after the victim's events: had any reached it, it would be first.
            async with stranger.post(
                client.make_url("/api/download"), json={"url": DEAD_PAGE + "?spy"}, headers=forged
            ) as response:
                assert response.status == 202
                spy_job = (await response.json())["id"]
            assert (await next_event(spy))["job_id"] == spy_job
