"""Detection on pages in the shape real sites write them: what one track per episode means, pages too
large to keep as fixtures, and the page's time budget ending while its scripts are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.detect import detect, detect_page, merge, run_extractors
from audiofetch.extractors import WorkBudget, all_extractors
from audiofetch.net import open_fetcher
from audiofetch.page import make_page
from tests.realpages import ORIGIN, inline_playlist_page, long_feed, minified_bundle

PAGES = Path(__file__).parent / "fixtures" / "pages" / "realworld"
SETTINGS = Settings(allow_networks=parse_networks("127.0.0.0/8"))


def page_of(name: str, content_type: str = "text/html"):
    return make_page(f"{ORIGIN}/realworld/{name}", (PAGES / name).read_bytes(), content_type=content_type)


def test_one_episode_offered_many_ways_is_one_track_with_the_others_as_alternates() -> None:
    detection = detect_page(page_of("podlove-episode.html"))
    base = "http://leuchtfeuer.example.invalid/podlove/file"
    assert [(t.url, t.title) for t in detection.tracks] == [
        (f"{base}/312/s/webplayer/c/episode/lf042-nebelhorn.m4a", "LF042 Nebelhorn und Morsezeichen")
    ]
    assert detection.tracks[0].alternates == (
        f"{base}/311/s/webplayer/c/episode/lf042-nebelhorn.mp3",
        f"{base}/313/s/webplayer/c/episode/lf042-nebelhorn.opus",
        "https://dts.podtrac.example/redirect.mp3/leuchtfeuer.example.invalid/podlove/file/311/s/feed/c/episode/lf042-nebelhorn.mp3",
        f"{base}/312/s/share/lf042-nebelhorn.m4a?ref=twitter",
        f"{base}/311/s/download/c/select-show/lf042-nebelhorn.mp3",
        f"{base}/312/s/download/c/select-show/lf042-nebelhorn.m4a",
        f"{base}/311/s/download/lf042-nebelhorn.mp3?dl=1",
        f"{base}/312/s/download/lf042-nebelhorn.m4a?dl=1",
        f"{base}/313/s/download/lf042-nebelhorn.opus?dl=1",
    )
    preferred = detect_page(page_of("podlove-episode.html"), prefer=("opus",)).tracks[0]
    assert preferred.url == f"{base}/313/s/webplayer/c/episode/lf042-nebelhorn.opus"


def test_a_download_button_beside_a_player_is_the_same_track() -> None:
    tracks = detect_page(page_of("titles-in-context.html")).tracks
    assert [(t.url.rsplit("/", 1)[1], t.alternates) for t in tracks][-1] == (
        "tidetable-029.mp3",
        (f"{ORIGIN}/media/tidetable-029.mp3?download=1",),
    )


def test_a_3000_entry_inline_playlist_beside_a_400_kb_bundle_is_found_whole() -> None:
    html, expected = inline_playlist_page(3000, 400_000)
    page = make_page(f"{ORIGIN}/archive.html", html.encode(), content_type="text/html")
    detection = detect_page(page)
    assert [(t.url, t.title) for t in detection.tracks] == expected
    assert {t.artist for t in detection.tracks} == {"The Quayside Band"}
    assert detection.notes == ()


def test_a_feed_of_720_episodes_is_read_whole() -> None:
    feed, expected = long_feed(720)
    page = make_page(f"{ORIGIN}/feed.xml", feed.encode(), content_type="application/rss+xml")
    detection = detect_page(page)
    assert detection.player == "feeds"
    assert [(t.url, t.title) for t in detection.tracks] == expected


def test_a_large_bundle_alone_stays_far_within_the_step_budget() -> None:
    bundle = minified_bundle(400_000)
    html = f"<script>{bundle}</script><script>new Plyr('#p')</script><audio src='/a.mp3' title='A'></audio>"
    page = make_page(f"{ORIGIN}/bundle.html", html.encode(), content_type="text/html")
    work = WorkBudget()
    run = run_extractors(page, all_extractors(), budget=work)
    assert [t.url for t in merge(page, run.findings).tracks] == [f"{ORIGIN}/a.mp3"]
    assert work.used < work.limit // 10


@pytest.fixture
async def slow_site(aiohttp_server):
    """A page whose same-site script is far more work than a tiny time budget allows."""
    script = minified_bundle(3_000_000) + "new Plyr('#p');"

    async def page(_: web.Request) -> web.Response:
        html = '<script src="/big.js"></script><h2>Opening</h2><audio src="/opening.mp3"></audio>'
        return web.Response(text=html, content_type="text/html")

    async def big(_: web.Request) -> web.Response:
        return web.Response(text=script, content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/index.html", page)
    app.router.add_get("/big.js", big)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


async def test_when_the_page_s_time_ends_the_tracks_found_so_far_come_back_with_a_note(slow_site) -> None:
    settings = Settings(allow_networks=parse_networks("127.0.0.0/8"), max_page_bytes=8 * 1024 * 1024)
    async with open_fetcher(settings) as fetcher:
        detection = await detect(fetcher, slow_site + "/index.html", settings=settings, budget=0.2)
    assert [(t.url, t.title) for t in detection.tracks] == [(slow_site + "/opening.mp3", "Opening")]
    assert detection.notes  # the scripts were not read to the end: stopped by time (or, else, by steps)


def test_script_strings_that_are_only_parts_of_a_url_or_a_silent_unlock_sound_are_not_tracks() -> None:
    script = (
        "var base = '/audio/', unlock = '/lib/silence.mp3';"
        "function src(name) { return base + name + '-128.mp3'; }"
        "var intro = {title: 'Intro', file: '/audio/intro.mp3'};"
    )
    html = f"<script>{script}</script>"
    page = make_page(f"{ORIGIN}/lib.html", html.encode(), content_type="text/html")
    assert [(t.url, t.title) for t in detect_page(page).tracks] == [(f"{ORIGIN}/audio/intro.mp3", "Intro")]
