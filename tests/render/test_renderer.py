"""The shared browser's lifetime: a crash or a hang fails that page clearly, the next page gets a fresh
browser; and the pure rules the pass decides with (when ``auto`` renders, titles from control names)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from audiofetch.config import Settings
from audiofetch.errors import RenderError
from audiofetch.models import Detection, Track
from audiofetch.page import make_page
from audiofetch.render import Renderer, chromium_args, combine, control_title, render_reason
from tests.hardening.netkit import eventually
from tests.render.conftest import needs_chromium


def browser_pids(renderer: Renderer) -> list[int]:
    """Chromium processes started for ``renderer`` (their command line names its proxy)."""
    mark = f"--proxy-server={renderer.proxy.server}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@needs_chromium
async def test_a_crash_fails_that_page_clearly_and_the_next_page_gets_a_fresh_browser(
    aiohttp_server, settings: Settings
) -> None:
    asked = asyncio.Event()
    hold = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        asked.set()
        await hold.wait()
        return web.Response(text="late", content_type="text/html")

    async def fine(request: web.Request) -> web.Response:
        return web.Response(text="<audio src='/a.mp3' title='A'></audio>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fine", fine)
    server: TestServer = await aiohttp_server(app)
    async with Renderer(settings.with_overrides(render="always")) as renderer:
        rendering = asyncio.create_task(renderer.render(str(server.make_url("/slow"))))
        await asyncio.wait_for(asked.wait(), timeout=30)
        pids = browser_pids(renderer)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RenderError, match="browser crashed"):
            await rendering
        hold.set()
        rendered = await renderer.render(str(server.make_url("/fine")))
        assert "/a.mp3" in rendered.html
        assert renderer.launches == 2
        assert await eventually(lambda: not set(pids) & set(browser_pids(renderer)))


@needs_chromium
async def test_a_page_that_never_loads_fails_with_the_time_limit(aiohttp_server, settings: Settings) -> None:
    async def never(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_get("/never", never)
    server: TestServer = await aiohttp_server(app)
    async with Renderer(settings, page_budget=3.0) as renderer:
        with pytest.raises(RenderError, match="within 3 s"):
            await renderer.render(str(server.make_url("/never")))


async def test_an_unavailable_pass_says_how_to_get_it(settings: Settings) -> None:
    async with Renderer(settings, executable=Path("/nonexistent/chromium")) as renderer:
        with pytest.raises(RenderError, match="apt-get install chromium"):
            await renderer.render("http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("name", "title"),
    [("Play", None), ("▶", None), ("Play: Harbour", "Harbour"), ("Play Tide Tables", "Tide Tables"),
     ("Listen to Lantern", "Lantern"), ("Coda", "Coda"), ("", None), ("Pause", None)],
)  # fmt: skip
def test_control_names_give_titles_without_the_play_word(name: str, title: str | None) -> None:
    assert control_title(name) == title


def _detection(*tracks: Track) -> Detection:
    return Detection(page_url="http://127.0.0.1/", title=None, player=None, tracks=tracks)


@pytest.mark.parametrize(
    ("html", "tracks", "reason"),
    [
        ("<p>nothing</p>", (), "static reading found no track"),
        ("<audio src='/a.mp3'></audio>", (Track("http://127.0.0.1/a.mp3"),), None),
        ("<audio src='/a.mp3'></audio><audio preload=none></audio>", (Track("http://127.0.0.1/a.mp3"),),
         "the page has <audio>/<video> elements without a source"),
        ("<script src='/js/howler.min.js'></script><a href='/a.mp3'>a</a>",
         (Track("http://127.0.0.1/a.mp3", extractor="links"),),
         "the page loads howler but none of its tracks were found"),
    ],
)  # fmt: skip
def test_auto_renders_when_static_reading_cannot_resolve_the_players(
    html: str, tracks: tuple[Track, ...], reason: str | None
) -> None:
    page = make_page("http://127.0.0.1/", html.encode(), content_type="text/html")
    assert render_reason(page, _detection(*tracks)) == reason


def test_combine_keeps_the_rendered_order_then_what_only_static_reading_found() -> None:
    rendered = _detection(Track("http://h/b.mp3", index=1), Track("http://h/c.mp3", index=2))
    static = _detection(Track("http://h/a.mp3", index=1), Track("http://h/b.mp3", title="B", index=2))
    merged = combine(rendered, static)
    assert [(t.url, t.index) for t in merged.tracks] == [
        ("http://h/b.mp3", 1),
        ("http://h/c.mp3", 2),
        ("http://h/a.mp3", 3),
    ]


def test_chromium_is_left_no_network_path_but_the_proxy() -> None:
    args = chromium_args("http://127.0.0.1:1234")
    for switch in (
        "--proxy-server=http://127.0.0.1:1234",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--block-new-web-contents",
    ):
        assert switch in args
    [features] = [arg for arg in args if arg.startswith("--disable-features=")]
    assert "DnsOverHttps" in features.split("=", 1)[1].split(",")
