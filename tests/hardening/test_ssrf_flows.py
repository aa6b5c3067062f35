"""SSRF across hops: redirects, track URLs and whole jobs. The refused target sees zero connections.

The "public" page server is the only address allowed (127.0.0.1/32, reached as ``public.example`` through
an injected resolver); the private target listens on 127.0.0.2. Other private addresses are names or
literals that the dial tripwire would catch: they are never connected to.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch.config import Settings, parse_networks
from audiofetch.detect import detect
from audiofetch.download import DirectorySink, RetryPolicy, download_all, probe_tracks
from audiofetch.errors import BlockedURLError, FetchError
from audiofetch.models import Track
from audiofetch.net import MAX_REDIRECTS, open_fetcher
from tests.dns import TableResolver
from tests.hardening.netkit import Listener, audio, dial_tripwire, listening
from tests.kit.wait import job_over_http
from tests.web.apikit import SAME_ORIGIN, admin_settings, bearer, build_app, login

GOOD = audio(30_000)


@dataclass
class World:
    """The allowed page server, the private target, the resolver, and what the page server saw."""

    page_port: int
    target: Listener
    resolver: TableResolver
    seen: list[str]
    pages: dict[str, str]

    def public(self, path: str) -> str:
        return f"http://public.example:{self.page_port}{path}"

    def local(self, path: str) -> str:
        return f"http://127.0.0.1:{self.page_port}{path}"


def page_app(seen: list[str], pages: dict[str, str]) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.path_qs)
        if request.path == "/redirect":
            raise web.HTTPFound(request.query["to"])
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        if request.path in ("/ping", "/pong"):
            raise web.HTTPTemporaryRedirect("/pong" if request.path == "/ping" else "/ping")
        if request.path == "/good.mp3":
            return web.Response(body=GOOD, content_type="audio/mpeg")
        if request.path in pages:
            return web.Response(text=pages[request.path], content_type="text/html")
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


@pytest.fixture
async def world(aiohttp_server: Any) -> AsyncIterator[World]:
    seen: list[str] = []
    pages: dict[str, str] = {}
    server = await aiohttp_server(page_app(seen, pages), host="127.0.0.1")
    async with listening("127.0.0.2") as target:
        resolver = TableResolver(
            {
                "public.example": "127.0.0.1",
                "intranet.example": "127.0.0.2",
                "metadata.example": "169.254.169.254",
                "rebind.example": "10.0.0.7",
            }
        )
        yield World(server.port, target, resolver, seen, pages)


ONLY_THE_PAGE_SERVER = Settings(allow_networks=parse_networks("127.0.0.1/32"), retries=1)


def private_targets(world: World) -> list[str]:
    port = world.target.port
    return [
        f"http://127.0.0.2:{port}/secret",
        f"http://intranet.example:{port}/secret",
        f"http://0x7f000002:{port}/secret",
        f"http://2130706434:{port}/secret",
        f"http://[::ffff:127.0.0.2]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.example/latest/meta-data/",
        "http://rebind.example/admin",
        "http://[fd00::1]/",
        "file:///etc/passwd",
        f"ftp://127.0.0.2:{port}/",
        f"gopher://127.0.0.2:{port}/_GET",
        "data:text/html,<audio src=x>",
        f"http://user:pw@public.example:{world.page_port}/good.mp3",
        "http://public.example:25/",
    ]


async def test_a_public_page_redirecting_to_any_private_target_is_refused(world: World) -> None:
    async with dial_tripwire() as dialled, open_fetcher(ONLY_THE_PAGE_SERVER, resolver=world.resolver) as f:
        for target in private_targets(world):
            hop = world.public(f"/redirect?to={target}")
            with pytest.raises(BlockedURLError):
                await f.fetch_page(hop)
            with pytest.raises(BlockedURLError):
                async with f.open_stream(hop):
                    pass
            with pytest.raises(BlockedURLError):
                await f.fetch_head(hop)
    assert world.target.connections == 0
    assert {tuple(d[:2]) for d in dialled} == {("127.0.0.1", world.page_port)}
    assert len(world.seen) == 3 * len(private_targets(world))  # each first hop once, never a second


async def test_detection_of_a_redirecting_page_ends_in_a_clear_refusal(world: World) -> None:
    settings = ONLY_THE_PAGE_SERVER
    async with open_fetcher(settings, resolver=world.resolver) as fetcher:
        with pytest.raises(BlockedURLError) as caught:
            await detect(fetcher, world.public("/redirect?to=http://intranet.example/"), settings=settings)
    assert "10.0.0.7" not in caught.value.user_message and "127.0.0.2" in caught.value.user_message
    assert world.target.connections == 0


@pytest.mark.parametrize("start", ["/loop", "/ping"])
async def test_redirect_loops_stop_after_the_hop_limit(world: World, start: str) -> None:
    async with open_fetcher(ONLY_THE_PAGE_SERVER, resolver=world.resolver) as fetcher:
        with pytest.raises(FetchError, match=f"redirects more than {MAX_REDIRECTS} times") as caught:
            await fetcher.fetch_page(world.public(start))
    assert not isinstance(caught.value, BlockedURLError)
    assert len(world.seen) == MAX_REDIRECTS + 1


def hostile_tracks(world: World) -> list[Track]:
    port = world.target.port
    urls = [
        world.public("/good.mp3"),
        f"http://127.0.0.2:{port}/a.mp3",
        f"http://intranet.example:{port}/a.mp3",
        f"http://0x7f000002:{port}/a.mp3",
        "http://169.254.169.254/a.mp3",
        "file:///etc/passwd",
        f"http://user:pw@public.example:{world.page_port}/good.mp3",
        world.public(f"/redirect?to=http://127.0.0.2:{port}/a.mp3"),
    ]
    return [Track(url, title=f"T{n}", index=n) for n, url in enumerate(urls, 1)]


async def test_private_track_urls_fail_alone_and_are_never_contacted(world: World, tmp_path: Path) -> None:
    tracks = hostile_tracks(world)
    folder = tmp_path / "out"
    policy = RetryPolicy(retries=1, base_delay=0.01)
    async with dial_tripwire() as dialled, open_fetcher(ONLY_THE_PAGE_SERVER, resolver=world.resolver) as f:
        report = await download_all(
            f, tracks, DirectorySink(folder), workers=4, settings=ONLY_THE_PAGE_SERVER, retry_policy=policy
        )
        probes = await probe_tracks(f, tracks, referer=None, workers=4)
    assert [r.status for r in report.results] == ["done"] + ["failed"] * (len(tracks) - 1)
    for result in report.failed:
        assert result.error and ("refused" in result.error or "only http" in result.error), result
    assert probes[0].error is None and all(p.error for p in probes[1:])
    assert sorted(p.name for p in folder.iterdir()) == ["01 - T1.mp3"]
    assert world.target.connections == 0
    assert {tuple(d[:2]) for d in dialled} == {("127.0.0.1", world.page_port)}


# -- whole jobs through the real server (default resolver; the page server is 127.0.0.1) --------------


def album_with_private_tracks(world: World) -> str:
    port = world.target.port
    sources = [
        world.local("/good.mp3"),
        f"http://127.0.0.2:{port}/a.mp3",
        f"http://0x7f000002:{port}/b.mp3",
        f"http://[::ffff:127.0.0.2]:{port}/c.mp3",
        "http://169.254.169.254/d.mp3",
        world.local(f"/redirect?to=http://127.0.0.2:{port}/e.mp3"),
    ]
    audios = "".join(
        f'<p><audio controls src="{src}" title="t{n}"></audio></p>' for n, src in enumerate(sources)
    )
    return f"<!DOCTYPE html><html><head><title>Mixed</title></head><body>{audios}</body></html>"


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings) -> TestClient:
    closed = admin_settings(settings).with_overrides(allow_networks=parse_networks("127.0.0.1/32"), retries=1)
    client: TestClient = await aiohttp_client(build_app(closed))
    return client


async def test_a_server_job_saves_the_public_track_and_refuses_the_private_ones(
    api: TestClient, world: World, settings: Settings
) -> None:
    world.pages["/album"] = album_with_private_tracks(world)
    token = await login(api)
    body = {"url": world.local("/album"), "mode": "server", "name": "Mixed"}
    response = await api.post("/api/download", json=body, headers=bearer(token))
    assert response.status == 202, await response.text()
    job = await job_over_http(api, (await response.json())["id"], headers=bearer(token))
    assert job["status"] == "completed"
    states = [(t["status"], t["error"] or "") for t in job["tracks"]]
    assert states[0] == ("done", "")
    assert all(status == "failed" and "refused" in error for status, error in states[1:]), states
    folder = settings.data_dir / "downloads" / "Mixed"
    assert [p.read_bytes()[:3] for p in folder.glob("*.mp3")] == [b"ID3"]
    assert not list(folder.glob("*.part"))
    assert world.target.connections == 0


async def test_a_browser_zip_holds_only_the_public_track(api: TestClient, world: World) -> None:
    world.pages["/album"] = album_with_private_tracks(world)
    response = await api.get("/zip", params={"url": world.local("/album")})
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        mp3s = [name for name in archive.namelist() if name.endswith(".mp3")]
        assert [archive.read(name) for name in mp3s] == [GOOD]
    assert world.target.connections == 0


REFUSED_AT_THE_API = [
    "file:///etc/passwd",
    "ftp://127.0.0.2/",
    "gopher://127.0.0.2:70/_x",
    "data:text/html,hi",
    "http://user:pw@127.0.0.1/",
    "http://127.0.0.1:22/",
    "http://0x7f000002/",
    "http://2130706434/",
    "http://0177.0.0.2/",
    "http://[::ffff:127.0.0.2]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
]


async def test_the_api_refuses_bad_targets_with_one_line_and_creates_no_job(api: TestClient) -> None:
    """One server for every URL (each app start derives keys); every route refuses before fetching."""
    for url in REFUSED_AT_THE_API:
        for response in (
            await api.post("/api/download", json={"url": url}, headers=SAME_ORIGIN),
            await api.get("/api/preview", params={"url": url}),
            await api.get("/zip", params={"url": url}),
        ):
            assert response.status in (400, 403), (url, response.method, response.status)
            message = (await response.json())["error"]
            assert message and "\n" not in message and "Traceback" not in message
    assert (await (await api.get("/api/jobs")).json())["jobs"] == []
