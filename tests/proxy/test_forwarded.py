"""X-Forwarded-For/-Proto/-Host: believed from a trusted proxy only, then right everywhere they matter.

The aiohttp test client connects from 127.0.0.1. "Trusted" runs list 127.0.0.1; "untrusted" runs list
another address (which no packet ever goes to), so the same headers must change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict, CIMultiDictProxy

from audiofetch.config import Settings, load_settings, parse_networks
from audiofetch.errors import ConfigError
from audiofetch.web import create_app
from audiofetch.web._keys import LOGIN_THROTTLE_KEY
from audiofetch.web._proxy import ForwardedView, read_forwarded
from audiofetch.web._throttle import LoginThrottle
from tests.e2e.harness import album_url
from tests.proxy.conftest import ADMIN_PASSWORD, PREFIX, SAME_ORIGIN

PUBLIC = "public.example"
TLS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC}
CLIENT_A = "203.0.113.7"
CLIENT_B = "198.51.100.9"
TRUSTED = parse_networks("127.0.0.1")
ELSEWHERE = parse_networks("192.0.2.10")  # a proxy that is not the test client


def _headers(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


# -- the rule, as a table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "pairs", "expected"),
    [
        # the client is the first address from the right that is not a trusted proxy
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1")], ForwardedView("198.51.100.1", None, None)),
        (
            "10.0.0.2",
            [("X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.0.0.3")],
            ForwardedView("198.51.100.1", None, None),
        ),
        (
            "10.0.0.2",
            [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.1")],
            ForwardedView("198.51.100.1", None, None),
        ),
        ("10.0.0.2", [("X-Forwarded-For", "10.0.0.9")], ForwardedView("10.0.0.9", None, None)),
        ("10.0.0.2", [], ForwardedView("10.0.0.2", None, None)),
        # ports and IPv6 forms proxies write; IPv4-mapped IPv6 peers
        (
            "::ffff:10.0.0.2",
            [("X-Forwarded-For", "198.51.100.1:4711")],
            ForwardedView("198.51.100.1", None, None),
        ),
        ("10.0.0.2", [("X-Forwarded-For", "[2001:db8::1]:443")], ForwardedView("2001:db8::1", None, None)),
        ("10.0.0.2", [("X-Forwarded-For", "2001:db8::1")], ForwardedView("2001:db8::1", None, None)),
        # an unreadable hop stops the walk at the last address known
        ("10.0.0.2", [("X-Forwarded-For", "198.51.100.1, unknown")], ForwardedView("10.0.0.2", None, None)),
        # scheme and host: the last value, if it is http/https and a plain host
        (
            "10.0.0.2",
            [("X-Forwarded-Proto", "http, HTTPS"), ("X-Forwarded-Host", "a.example, b.example:8443")],
            ForwardedView("10.0.0.2", "https", "b.example:8443"),
        ),
        (
            "10.0.0.2",
            [("X-Forwarded-Host", "[2001:db8::1]:80")],
            ForwardedView("10.0.0.2", None, "[2001:db8::1]:80"),
        ),
        (
            "10.0.0.2",
            [("X-Forwarded-Proto", "javascript"), ("X-Forwarded-Host", "evil.example/path")],
            ForwardedView("10.0.0.2", None, None),
        ),
        ("10.0.0.2", [("X-Forwarded-Host", "user@evil.example")], ForwardedView("10.0.0.2", None, None)),
        ("10.0.0.2", [("X-Forwarded-Host", "a b")], ForwardedView("10.0.0.2", None, None)),
    ],
)
def test_read_forwarded_from_a_trusted_proxy(
    peer: str, pairs: list[tuple[str, str]], expected: ForwardedView
) -> None:
    assert read_forwarded(peer, _headers(*pairs), parse_networks("10.0.0.0/24")) == expected


@pytest.mark.parametrize("peer", ["10.0.1.2", "198.51.100.1", "::1", None, "not an address"])
def test_read_forwarded_ignores_every_header_from_anyone_else(peer: str | None) -> None:
    headers = _headers(
        ("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "x")
    )
    assert read_forwarded(peer, headers, parse_networks("10.0.0.0/24")) is None


def test_read_forwarded_with_no_trusted_proxies_believes_nobody() -> None:
    assert read_forwarded("127.0.0.1", _headers(("X-Forwarded-For", "1.2.3.4")), ()) is None


def test_trusted_proxies_setting_takes_addresses_and_networks() -> None:
    settings = load_settings({"AUDIOFETCH_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"})
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert load_settings({}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="AUDIOFETCH_TRUSTED_PROXIES"):
        load_settings({"AUDIOFETCH_TRUSTED_PROXIES": "proxy.local"})


# -- the running app -----------------------------------------------------------------------------------


async def _client(aiohttp_client: Any, settings: Settings, *, trusted: bool, base: str = "") -> TestClient:
    app = create_app(
        settings.with_overrides(
            admin_password=ADMIN_PASSWORD,
            trusted_proxies=TRUSTED if trusted else ELSEWHERE,
            base_path=base,
        )
    )
    if not base:
        app[LOGIN_THROTTLE_KEY] = LoginThrottle(delay_after=3, clock=lambda: 1000.0)  # time stands still
    client: TestClient = await aiohttp_client(app)
    return client


@pytest.mark.parametrize("trusted", [True, False])
async def test_https_at_the_proxy_makes_the_session_cookie_secure(
    aiohttp_client: Any, settings: Settings, trusted: bool
) -> None:
    client = await _client(aiohttp_client, settings, trusted=trusted)
    response = await client.get("/", headers={**SAME_ORIGIN, **TLS_PROXY})
    assert response.status == 200
    assert bool(response.cookies["AUDIOFETCH_SESSION"]["secure"]) is trusted
    bookmarklet = f"https://{PUBLIC}/?url=" if trusted else f"http://127.0.0.1:{client.port}/?url="
    assert bookmarklet in await response.text()


@pytest.mark.parametrize("trusted", [True, False])
async def test_the_origin_check_uses_the_forwarded_scheme_and_host(
    aiohttp_client: Any, settings: Settings, site: Any, trusted: bool
) -> None:
    _, upstream = site
    client = await _client(aiohttp_client, settings, trusted=trusted)
    browser = {"Origin": f"https://{PUBLIC}", **TLS_PROXY}  # an older browser: no Sec-Fetch-Site
    started = await client.post("/api/download", json={"url": album_url(upstream, "origin")}, headers=browser)
    assert started.status == (202 if trusted else 403), await started.text()
    if trusted:
        async with client.ws_connect("/ws", headers=browser) as ws:
            assert not ws.closed
    else:
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers=browser)
        assert refused.value.status == 403
    # A forwarded scheme that does not match the Origin is still refused.
    mismatch = {"Origin": f"https://{PUBLIC}", "X-Forwarded-Proto": "http", "X-Forwarded-Host": PUBLIC}
    assert (await client.post("/api/download", json={"url": "x"}, headers=mismatch)).status == 403


@pytest.mark.parametrize("trusted", [True, False])
async def test_the_login_throttle_counts_the_forwarded_client(
    aiohttp_client: Any, settings: Settings, trusted: bool
) -> None:
    client = await _client(aiohttp_client, settings, trusted=trusted)

    async def attempt(address: str) -> int:
        response = await client.post(
            "/api/auth/login", json={"password": "wrong"}, headers={"X-Forwarded-For": address}
        )
        return response.status

    assert [await attempt(CLIENT_A) for _ in range(3)] == [401, 401, 401]
    assert await attempt(CLIENT_A) == 429
    # Another client behind the same proxy has its own count; without trust both are the proxy.
    assert await attempt(CLIENT_B) == (401 if trusted else 429)


@pytest.mark.parametrize("trusted", [True, False])
async def test_scripts_behind_the_proxy_are_told_apart_by_their_forwarded_address(
    aiohttp_client: Any, settings: Settings, site: Any, trusted: bool
) -> None:
    _, upstream = site
    client = await _client(aiohttp_client, settings, trusted=trusted)
    first, second = {"X-Forwarded-For": CLIENT_A}, {"X-Forwarded-For": CLIENT_B}
    started = await client.post("/api/download", json={"url": album_url(upstream, "own")}, headers=first)
    assert started.status == 202
    job_id = (await started.json())["id"]
    listed = await (await client.get("/api/jobs", headers=second)).json()
    assert [job["id"] for job in listed["jobs"]] == ([] if trusted else [job_id])
    cancel_by_other = await client.post(f"/api/jobs/{job_id}/cancel", headers=second)
    assert cancel_by_other.status == (403 if trusted else 200)
    cancel_by_owner = await client.post(f"/api/jobs/{job_id}/cancel", headers=first)
    assert cancel_by_owner.status == 200


async def test_forwarded_headers_also_apply_under_a_base_path(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await _client(aiohttp_client, settings, trusted=True, base=PREFIX)
    response = await client.get(f"{PREFIX}/", headers={**SAME_ORIGIN, **TLS_PROXY})
    cookie = response.cookies["AUDIOFETCH_SESSION"]
    assert cookie["secure"] and cookie["path"] == PREFIX
    assert f"https://{PUBLIC}{PREFIX}/?url=" in await response.text()
    health = await client.get("/healthz", headers=TLS_PROXY)
    assert health.status == 200
