"""Admin login through a real server: cookie flags, bearer tokens, logout, throttling, forged credentials."""

from __future__ import annotations

import json
import logging
from http.cookies import SimpleCookie
from unittest.mock import ANY

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from audiofetch.config import Settings
from audiofetch.web._auth import issue_token
from audiofetch.web._keys import ADMIN_KEY, KEYRING_KEY, SESSION_COOKIE, WebOptions
from audiofetch.web._throttle import LoginThrottle
from tests.web.apikit import ADMIN_PASSWORD, SAME_ORIGIN, FakeClock, admin_settings, bearer, build_app, login

PROTECTED = [
    ("POST", "/api/download", {"url": "http://127.0.0.1:9/page", "mode": "server"}),
    ("GET", "/api/downloads", None),
    ("DELETE", "/api/downloads/album", None),
    ("GET", "/api/downloads/album/zip", None),
]


async def me(client: TestClient, **headers: str) -> dict[str, object]:
    response = await client.get("/api/auth/me", headers=headers)
    assert response.status == 200
    body: dict[str, object] = await response.json()
    return body


async def test_login_sets_httponly_strict_cookie_and_returns_a_bearer_token(client: TestClient) -> None:
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200
    body = await response.json()
    assert body["token"].startswith("af1.") and body["token_type"] == "Bearer"
    raw = response.headers.getone("Set-Cookie")
    cookie = SimpleCookie(raw)[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["max-age"] == str(1440 * 60)
    assert not cookie["secure"]  # plain http in the test; Secure comes with https
    assert await me(client) == {"admin": True, "via": "cookie", "expires_at": body["expires_at"]}


async def test_bearer_token_alone_authenticates(aiohttp_client, settings: Settings) -> None:
    app = build_app(admin_settings(settings))
    first = await aiohttp_client(app)
    token = await login(first)
    url = first.make_url("/api/auth/me")
    async with aiohttp.ClientSession() as second:  # no cookie
        async with second.get(url, headers=bearer(token)) as response:
            assert await response.json() == {"admin": True, "via": "bearer", "expires_at": pytest.approx(ANY)}
        async with second.get(url) as response:
            assert (await response.json())["admin"] is False


async def test_login_accepts_a_form(client: TestClient) -> None:
    response = await client.post("/api/auth/login", data={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200
    assert (await me(client))["admin"] is True


async def test_wrong_and_missing_passwords(client: TestClient) -> None:
    response = await client.post("/api/auth/login", json={"password": "nope nope nope"}, headers=SAME_ORIGIN)
    assert response.status == 401
    assert await response.json() == {"error": "wrong password"}
    assert "Set-Cookie" not in response.headers
    response = await client.post("/api/auth/login", json={}, headers=SAME_ORIGIN)
    assert response.status == 400
    assert await response.json() == {"error": "password is required"}
    response = await client.post(
        "/api/auth/login", data=b"{not json", headers={**SAME_ORIGIN, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert await response.json() == {"error": "the request body is not valid JSON"}
    response = await client.post("/api/auth/login", json={"password": "admin123"}, headers=SAME_ORIGIN)
    assert response.status == 401


async def test_login_from_another_site_is_refused(client: TestClient) -> None:
    response = await client.post(
        "/api/auth/login", json={"password": ADMIN_PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    assert await response.json() == {"error": "cross-site request refused"}
    assert "Set-Cookie" not in response.headers
    response = await client.post(
        "/api/auth/login", json={"password": ADMIN_PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status == 403


async def test_a_script_without_browser_headers_may_log_in(client: TestClient) -> None:
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
    assert response.status == 200


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_protected_routes_refuse_without_auth(
    client: TestClient, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body, headers=SAME_ORIGIN)
    assert response.status == 401
    assert (await response.json())["error"].startswith("log in as admin first")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_protected_routes_refuse_forged_and_expired_tokens(
    aiohttp_client,
    settings: Settings,
    method: str,
    path: str,
    body: object,
) -> None:
    clock = FakeClock(1_700_000_000.0)
    app = build_app(admin_settings(settings), clock=clock)
    client = await aiohttp_client(app)
    forged = issue_token(b"x" * 32, "admin", 3600, clock.now)
    response = await client.request(method, path, json=body, headers=bearer(forged))
    assert response.status == 401
    expired = issue_token(app[KEYRING_KEY].token, "admin", 60, clock.now)
    clock.now += 61
    response = await client.request(method, path, json=body, headers=bearer(expired))
    assert response.status == 401
    not_admin = issue_token(app[KEYRING_KEY].token, "visitor", 60, clock.now)
    response = await client.request(method, path, json=body, headers=bearer(not_admin))
    assert response.status == 401


async def test_logout_revokes_the_bearer_token(client: TestClient) -> None:
    token = await login(client)
    client.session.cookie_jar.clear()
    assert (await me(client, **bearer(token)))["admin"] is True
    response = await client.post("/api/auth/logout", headers=bearer(token))
    assert response.status == 200
    assert (await me(client, **bearer(token)))["admin"] is False
    response = await client.get("/api/downloads", headers=bearer(token))
    assert response.status == 401


async def test_a_replayed_cookie_after_logout_is_anonymous(client: TestClient) -> None:
    await login(client)
    saved = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    response = await client.post("/api/auth/logout", headers=SAME_ORIGIN)
    assert response.status == 200
    assert (await me(client))["admin"] is False
    client.session.cookie_jar.clear()
    replay = {"Cookie": f"{SESSION_COOKIE}={saved}"}
    assert (await me(client, **replay))["admin"] is False
    response = await client.get("/api/downloads", headers=replay)
    assert response.status == 401


async def test_tampered_and_foreign_cookies_are_anonymous(client: TestClient) -> None:
    await login(client)
    saved = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    client.session.cookie_jar.clear()
    tampered = saved[:-6] + ("AAAAAA" if not saved.endswith("AAAAAA") else "BBBBBB")
    foreign = Fernet(Fernet.generate_key()).encrypt(json.dumps({"session": {"token": "x"}}).encode()).decode()
    for value in (tampered, foreign, "garbage", ""):
        assert (await me(client, Cookie=f"{SESSION_COOKIE}={value}"))["admin"] is False


async def test_failed_logins_are_throttled_then_the_right_password_works(
    aiohttp_client,
    settings: Settings,
) -> None:
    clock = FakeClock(1000.0)
    app = build_app(admin_settings(settings), throttle=LoginThrottle(clock=clock))
    client = await aiohttp_client(app)
    for _ in range(5):
        response = await client.post(
            "/api/auth/login", json={"password": "wrong guess!"}, headers=SAME_ORIGIN
        )
        assert response.status == 401
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert await response.json() == {"error": "too many login attempts; try again in 1 s"}
    clock.now += 1.0
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200


async def test_the_overall_login_budget_is_shared(aiohttp_client, settings: Settings) -> None:
    clock = FakeClock(50.0)
    throttle = LoginThrottle(clock=clock, delay_after=1000, global_burst=2, global_rate=0.25)
    client = await aiohttp_client(build_app(admin_settings(settings), throttle=throttle))
    for _ in range(2):
        response = await client.post(
            "/api/auth/login", json={"password": "wrong guess!"}, headers=SAME_ORIGIN
        )
        assert response.status == 401
    response = await client.post("/api/auth/login", json={"password": "wrong guess!"}, headers=SAME_ORIGIN)
    assert response.status == 429
    assert response.headers["Retry-After"] == "4"
    clock.now += 4.0
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200


async def test_a_generated_admin_password_is_never_logged_and_works(
    aiohttp_client,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The banner is printed by ``serve`` once the port is bound (tests/test_first_run.py); the password
    # never reaches a log record, so never the log file in the data folder either.
    with caplog.at_level(logging.DEBUG, logger="audiofetch"):
        client = await aiohttp_client(build_app(settings))
    password = client.server.app[ADMIN_KEY].generated_password
    assert password is not None
    assert not [r for r in caplog.records if password in r.getMessage()]
    assert password not in (settings.data_dir / "admin.json").read_text()
    assert await login(client, password)
    await client.close()  # one server per data folder: the next start comes after this one stopped
    second = await aiohttp_client(build_app(settings))
    assert second.server.app[ADMIN_KEY].generated_password is None


async def test_a_start_that_fails_after_generating_the_password_keeps_no_hash(settings: Settings) -> None:
    (settings.data_dir / "audiofetch.sqlite3").mkdir(parents=True)  # the job store cannot open
    server = TestServer(build_app(settings))
    try:
        with pytest.raises(Exception):  # noqa: B017 (whatever the store raises)
            await server.start_server()
    finally:
        await server.close()
    # Nobody saw the password, so no hash of it may lock the admin out at the next start.
    assert not (settings.data_dir / "admin.json").exists()


async def test_the_cookie_is_secure_behind_a_tls_proxy(aiohttp_client, settings: Settings) -> None:
    options = WebOptions(heartbeat=0.2, force_secure_cookie=True)
    client = await aiohttp_client(build_app(admin_settings(settings), options=options))
    response = await client.post("/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN)
    assert response.status == 200
    cookie = SimpleCookie(response.headers.getone("Set-Cookie"))[SESSION_COOKIE]
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "Strict"
