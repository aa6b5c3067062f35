"""AUDIOFETCH_BASE_PATH: the whole app answers under ``/audiofetch`` and every URL it writes carries it."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient
from yarl import URL

from audiofetch.config import Settings, load_settings
from audiofetch.errors import ConfigError
from audiofetch.web import create_app
from tests.e2e.harness import album_url, track_bytes, zip_tracks
from tests.kit.wait import job_over_http
from tests.proxy.conftest import (
    ADMIN_PASSWORD,
    PREFIX,
    SAME_ORIGIN,
    csrf_token,
    page_urls,
)


@pytest.fixture
def mounted_settings(settings: Settings) -> Settings:
    return settings.with_overrides(base_path=PREFIX, admin_password=ADMIN_PASSWORD)


@pytest.fixture
def app(mounted_settings: Settings) -> web.Application:
    """The app as ``audiofetch serve`` builds it, mounted under the prefix (what ``client`` talks to)."""
    return create_app(mounted_settings)


async def _login(client: TestClient) -> None:
    response = await client.post(
        f"{PREFIX}/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN
    )
    assert response.status == 200, await response.text()


async def _ready_job(client: TestClient, url: str) -> str:
    response = await client.post(f"{PREFIX}/api/download", json={"url": url}, headers=SAME_ORIGIN)
    assert response.status == 202, await response.text()
    job_id: str = (await response.json())["id"]
    assert response.headers["Location"] == f"{PREFIX}/api/status/{job_id}"
    await job_over_http(client, job_id, "ready", base=PREFIX)
    return job_id


# -- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", ""), ("/audiofetch", "/audiofetch"), (" /apps/audio-fetch_2.0~x ", "/apps/audio-fetch_2.0~x")],
)
def test_base_path_setting_accepts_plain_paths(raw: str, expected: str) -> None:
    assert load_settings({"AUDIOFETCH_BASE_PATH": raw}).base_path == expected


@pytest.mark.parametrize(
    "raw", ["audiofetch", "/audiofetch/", "/", "/a/../b", "/a//b", "/./a", "/a b", "/a?x=1", "/a%2f", "/ä"]
)
def test_base_path_setting_refuses_anything_else_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="AUDIOFETCH_BASE_PATH"):
        load_settings({"AUDIOFETCH_BASE_PATH": raw})


# -- routing -------------------------------------------------------------------------------------------


async def test_pages_and_api_answer_under_the_prefix_and_only_healthz_at_the_root(client: TestClient) -> None:
    for path in ("/", "/healthz", "/login", "/api/jobs", "/api/openapi.json"):
        response = await client.get(f"{PREFIX}{path}", headers=SAME_ORIGIN)
        assert response.status == 200, path
    root_health = await client.get("/healthz")
    assert root_health.status == 200
    assert (await root_health.json())["status"] == "ok"
    for path in (
        "/",
        "/login",
        "/api/jobs",
        "/api/openapi.json",
        "/jobs/x",
        "/zip?url=x",
        "/static/style.css",
    ):
        response = await client.get(path, headers=SAME_ORIGIN)
        assert response.status == 404, path
        assert "Set-Cookie" not in response.headers
    refused = await client.post("/api/download", json={"url": "http://127.0.0.1/"})
    assert refused.status == 404
    # JSON errors and the security headers still apply to API paths under the prefix.
    missing = await client.get(f"{PREFIX}/api/no-such-route")
    assert missing.status == 404
    assert await missing.json() == {"error": "not found"}
    assert missing.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/nothing")).headers["X-Frame-Options"] == "DENY"


async def test_the_bare_prefix_redirects_to_the_home_page_keeping_the_query(client: TestClient) -> None:
    page = "https://example.org/?a=1&b=2"
    response = await client.get(PREFIX, params={"url": page}, allow_redirects=False)
    assert response.status == 308
    location = URL(response.headers["Location"])
    assert location.path == f"{PREFIX}/"
    assert location.query["url"] == page


async def test_openapi_names_the_prefix_as_its_server(client: TestClient) -> None:
    document = await (await client.get(f"{PREFIX}/api/openapi.json")).json()
    assert document["servers"] == [{"url": PREFIX, "description": "AUDIOFETCH_BASE_PATH"}]
    assert "/api/download" in document["paths"]


async def test_openapi_at_the_root_has_no_servers_entry(aiohttp_client: Any, settings: Settings) -> None:
    client = await aiohttp_client(create_app(settings))
    assert "servers" not in await (await client.get("/api/openapi.json")).json()


# -- URLs written into pages ---------------------------------------------------------------------------


def _check_urls(html: str, upstream: str, *, fragment: bool = False) -> set[str]:
    """Assert every URL of the page is under the prefix (or an anchor, the bookmarklet, the upstream page).

    Returns the local URLs seen, without their query. A full page must also name the prefix for live.js.
    """
    urls, meta = page_urls(html)
    assert fragment or meta["audiofetch-base"] == PREFIX
    local: set[str] = set()
    for tag, attribute, value in urls:
        where = f"<{tag} {attribute}={value!r}>"
        if value.startswith("/"):
            assert value.startswith(f"{PREFIX}/"), where
            local.add(value.split("?", 1)[0])
        elif value.startswith("javascript:"):
            assert f'{PREFIX}/?url="' in value, where
        elif value.startswith("http"):
            assert value.startswith(upstream), where
        else:
            assert value.startswith("#"), where
    return local


async def test_every_url_in_the_rendered_pages_starts_with_the_prefix(
    client: TestClient, mounted_settings: Settings, site: Any
) -> None:
    _, upstream = site
    seen: set[str] = set()
    for path in ("/", "/login"):  # as a visitor: the login link and form
        response = await client.get(f"{PREFIX}{path}", headers=SAME_ORIGIN)
        seen |= _check_urls(await response.text(), upstream)
    await _login(client)
    folder = mounted_settings.data_dir / "downloads" / "Saved Album"
    folder.mkdir(parents=True)
    (folder / "01 - Song 1.mp3").write_bytes(b"ID3" + bytes(100))
    job_id = await _ready_job(client, album_url(upstream, "links"))

    home = await client.get(f"{PREFIX}/", headers=SAME_ORIGIN)
    seen |= _check_urls(await home.text(), upstream)
    token = csrf_token(await home.text())
    pages = {f"/jobs/{job_id}": False, "/login": False, "/jobs/unknown": False}
    pages |= {f"/jobs/{job_id}/card": True, "/downloads": True}  # htmx fragments
    for path, fragment in pages.items():
        response = await client.get(f"{PREFIX}{path}", headers=SAME_ORIGIN)
        seen |= _check_urls(await response.text(), upstream, fragment=fragment)
    # htmx form answers: a new card that starts its ZIP, and the no-JS confirmation page.
    card = await client.post(
        f"{PREFIX}/jobs",
        data={"csrf_token": token, "url": album_url(upstream, "card"), "mode": "browser"},
        headers={**SAME_ORIGIN, "HX-Request": "true"},
    )
    assert card.status == 202, await card.text()
    seen |= _check_urls(await card.text(), upstream, fragment=True)
    urls, _ = page_urls(await card.text())
    autostart = [value for _, attribute, value in urls if attribute == "data-autostart"]
    assert len(autostart) == 1 and autostart[0].startswith(f"{PREFIX}/api/stream/")
    confirm = await client.post(
        f"{PREFIX}/downloads/Saved%20Album/delete", data={"csrf_token": token}, headers=SAME_ORIGIN
    )
    assert confirm.status == 200
    seen |= _check_urls(await confirm.text(), upstream)

    expected = {
        f"{PREFIX}/",
        f"{PREFIX}/jobs",
        f"{PREFIX}/preview",
        f"{PREFIX}/logout",
        f"{PREFIX}/login",
        f"{PREFIX}/jobs/{job_id}",
        f"{PREFIX}/jobs/{job_id}/cancel",
        f"{PREFIX}/api/stream/{job_id}",
        f"{PREFIX}/api/downloads/Saved%20Album/zip",
        f"{PREFIX}/downloads/Saved%20Album/delete",
        f"{PREFIX}/static/style.css",
        f"{PREFIX}/static/js/live.js",
    }
    assert expected <= seen, expected - seen
    for static in sorted(path for path in seen if "/static/" in path):
        assert (await client.get(static)).status == 200, static


# -- redirects, cookies ---------------------------------------------------------------------------------


async def test_form_redirects_and_htmx_redirects_carry_the_prefix(client: TestClient, site: Any) -> None:
    _, upstream = site
    home = await client.get(f"{PREFIX}/", headers=SAME_ORIGIN)
    token = csrf_token(await home.text())
    started = await client.post(
        f"{PREFIX}/jobs",
        data={"csrf_token": token, "url": album_url(upstream, "redirects"), "mode": "browser"},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert started.status == 303
    job_page = started.headers["Location"]
    assert job_page.startswith(f"{PREFIX}/jobs/")
    job_id = job_page.rsplit("/", 1)[1]
    cancelled = await client.post(
        f"{PREFIX}/jobs/{job_id}/cancel",
        data={"csrf_token": token, "next": f"/jobs/{job_id}"},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert cancelled.status == 303
    assert cancelled.headers["Location"] == f"{PREFIX}/jobs/{job_id}"
    logged_in = await client.post(
        f"{PREFIX}/login",
        data={"csrf_token": token, "password": ADMIN_PASSWORD},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert logged_in.status == 303
    assert logged_in.headers["Location"] == f"{PREFIX}/"
    token = csrf_token(await (await client.get(f"{PREFIX}/", headers=SAME_ORIGIN)).text())
    logged_out = await client.post(
        f"{PREFIX}/logout",
        data={"csrf_token": token},
        headers={**SAME_ORIGIN, "HX-Request": "true"},
        allow_redirects=False,
    )
    assert logged_out.status == 200
    assert logged_out.headers["HX-Redirect"] == f"{PREFIX}/"


async def test_the_session_cookie_is_scoped_to_the_prefix(client: TestClient) -> None:
    first = await client.get(f"{PREFIX}/", headers=SAME_ORIGIN)
    cookie = first.cookies["AUDIOFETCH_SESSION"]
    assert cookie["path"] == PREFIX
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # plain http, no trusted proxy
    login = await client.post(
        f"{PREFIX}/api/auth/login", json={"password": ADMIN_PASSWORD}, headers=SAME_ORIGIN
    )
    assert login.cookies["AUDIOFETCH_SESSION"]["path"] == PREFIX
    # The browser sends the cookie back under the prefix only, and it makes the admin.
    me = await client.get(f"{PREFIX}/api/auth/me")
    assert (await me.json())["admin"] is True


# -- live events and ZIPs ---------------------------------------------------------------------------------


async def test_websocket_and_sse_answer_under_the_prefix_and_keep_the_cross_site_check(
    client: TestClient, site: Any
) -> None:
    _, upstream = site
    job_id = await _ready_job(client, album_url(upstream, "live"))
    query = f"job={job_id}&last_event_id=0"
    async with client.ws_connect(f"{PREFIX}/ws?{query}", headers=SAME_ORIGIN) as ws:
        message = json.loads((await ws.receive(timeout=10)).data)
        assert message["job_id"] == job_id
    events = await client.get(f"{PREFIX}/api/events?{query}", headers=SAME_ORIGIN)
    assert events.status == 200
    assert events.headers["X-Accel-Buffering"] == "no"
    chunk = await events.content.readuntil(b"\r\n\r\n")
    assert f'"job_id":"{job_id}"'.encode() in chunk
    events.close()
    evil = {"Origin": "http://evil.example"}
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(f"{PREFIX}/ws?{query}", headers=evil)
    assert refused.value.status == 403
    sse_refused = await client.get(f"{PREFIX}/api/events?{query}", headers=evil)
    assert sse_refused.status == 403
    assert await sse_refused.json() == {"error": "cross-site request refused"}
    post_refused = await client.post(f"{PREFIX}/api/jobs/{job_id}/cancel", headers=evil)
    assert post_refused.status == 403


async def test_stream_and_zip_routes_send_the_upstream_tracks_under_the_prefix(
    client: TestClient, site: Any
) -> None:
    _, upstream = site
    job_id = await _ready_job(client, album_url(upstream, "streamed"))
    streamed = await client.get(f"{PREFIX}/api/stream/{job_id}")
    assert streamed.status == 200
    body = await streamed.read()
    assert int(streamed.headers["Content-Length"]) == len(body)
    assert sorted(zip_tracks(body).values()) == sorted(track_bytes("streamed", i, 40000) for i in (1, 2, 3))
    direct = await client.get(f"{PREFIX}/zip", params={"url": album_url(upstream, "direct", n=2)})
    assert direct.status == 200, await direct.text()
    data = await direct.read()
    assert sorted(zip_tracks(data).values()) == sorted(track_bytes("direct", i, 40000) for i in (1, 2))
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert any(name.endswith(".m3u8") for name in archive.namelist())


def test_settings_key_is_on_the_root_app_too(mounted_settings: Settings, tmp_path: Path) -> None:
    from audiofetch.web import SETTINGS_KEY

    app = create_app(mounted_settings)
    assert app[SETTINGS_KEY].base_path == PREFIX
