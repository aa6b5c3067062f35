"""Detection: the merge rules on hand-built pages, and detect() against a real local server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.detect import (
    MAX_SCRIPTS,
    detect,
    detect_page,
    fetch_scripts,
    looked_for,
    normalize_url,
    same_site,
)
from audiofetch.errors import DetectError, NoAudioError, ParseError
from audiofetch.net import open_fetcher
from audiofetch.page import make_page, script_urls
from tests.kit.site import served

SETTINGS = Settings(allow_networks=parse_networks("127.0.0.0/8"))
PAGE_URL = "http://127.0.0.1:8000/show/page.html"
FRAME = b"\xff\xfb\x90\x64" + b"\0" * 413  # one MPEG-1 layer III frame header and silence
BIG_FILE = 64 * 1024 * 1024


def page_of(html: str, url: str = PAGE_URL):
    return make_page(url, html.encode(), content_type="text/html; charset=utf-8")


def urls(detection) -> list[str]:
    return [track.url for track in detection.tracks]


# --- normalize_url and same_site ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ("HTTP://Example.COM:80/a.mp3", "http://example.com/a.mp3"),
        ("https://example.com:443/a.mp3#t=10", "https://example.com/a.mp3"),
        ("http://x.test/Birdsong,%20dawn.mp3", "http://x.test/Birdsong%2C%20dawn.mp3"),
        ("http://x.test/Caf%C3%A9.mp3", "http://x.test/Café.mp3"),
        ("http://x.test/song.mp3?_=3", "http://x.test/song.mp3"),
        ("http://x.test/song.mp3?id=4&_=12", "http://x.test/song.mp3?id=4"),
        ("http://x.test", "http://x.test/"),
    ],
)
def test_normalize_url_equates_spellings_of_one_resource(one: str, two: str) -> None:
    assert normalize_url(one) == normalize_url(two)


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ("http://x.test/a.mp3", "https://x.test/a.mp3"),
        ("http://x.test:8080/a.mp3", "http://x.test/a.mp3"),
        ("http://x.test/a.mp3?id=1", "http://x.test/a.mp3?id=2"),
        ("http://x.test/a.mp3?__=1", "http://x.test/a.mp3"),
    ],
)
def test_normalize_url_keeps_different_resources_apart(one: str, two: str) -> None:
    assert normalize_url(one) != normalize_url(two)


def test_same_site_accepts_the_host_and_its_registrable_domain_only() -> None:
    assert same_site("https://cdn.example.co.uk/a.js", "https://www.example.co.uk/")
    assert same_site("https://static.example.com/a.js", "https://example.com/page")
    assert not same_site("https://other.co.uk/a.js", "https://example.co.uk/")
    assert not same_site("https://example.com.evil.test/a.js", "https://example.com/")
    assert same_site("http://127.0.0.1:9/a.js", "http://127.0.0.1:8000/")
    assert not same_site("http://localhost/a.js", "http://127.0.0.1/")


# --- merge rules (pure) ------------------------------------------------------------------------


def test_one_file_written_many_ways_is_one_track() -> None:
    page = page_of(
        """<h2>Rain</h2>
        <audio class="wp-audio-shortcode"><source type="audio/mpeg" src="/up/Rain,%20roof.mp3?_=1"></audio>
        <a href="/up/Rain%2C%20roof.mp3">Rain on the roof</a>
        <a href="HTTP://127.0.0.1:8000/up/Rain,%20roof.mp3#t=5">from 0:05</a>"""
    )
    detection = detect_page(page)
    assert urls(detection) == ["http://127.0.0.1:8000/up/Rain,%20roof.mp3"]
    assert detection.player == "wordpress"
    assert detection.tracks[0].title == "Rain"


def test_winner_is_highest_priority_and_others_tracks_follow_with_titles_filled() -> None:
    page = page_of(
        """<script src="https://cdn.example.invalid/mediaelement-and-player.min.js"></script>
        <audio class="mejs__player" src="a.mp3"></audio>
        <audio class="mejs__player" src="b.mp3"></audio>
        <p><a href="a.mp3">Song A</a> <a href="b.mp3">Song B</a> <a href="c.mp3">Song C</a></p>"""
    )
    detection = detect_page(page)
    assert detection.player == "mediaelement"
    assert [(t.url.rsplit("/", 1)[1], t.title, t.index) for t in detection.tracks] == [
        ("a.mp3", "Song A", 1),
        ("b.mp3", "Song B", 2),
        ("c.mp3", "Song C", 3),
    ]
    assert [t.extractor for t in detection.tracks] == ["mediaelement", "mediaelement", "links"]


def test_ties_of_priority_go_to_the_extractor_with_more_tracks() -> None:
    page = page_of(
        """<div class="sqs-audio-embed" data-url="one.mp3" data-title="One"></div>
        <video-js data-setup='{"sources": [{"src": "two.mp3", "type": "audio/mpeg"}]}'></video-js>
        <video-js data-setup='{"sources": [{"src": "three.mp3", "type": "audio/mpeg"}]}'></video-js>"""
    )
    detection = detect_page(page)
    assert detection.player == "videojs"
    assert [u.rsplit("/", 1)[1] for u in urls(detection)] == ["two.mp3", "three.mp3", "one.mp3"]


def test_alternates_collapse_to_the_first_listed_format_unless_preferred() -> None:
    page = page_of(
        """<h3>Theme</h3><audio><source src="theme.ogg" type="audio/ogg">
        <source src="theme.mp3" type="audio/mpeg"><source src="theme.m4a" type="audio/mp4"></audio>"""
    )
    first = detect_page(page).tracks[0]
    assert first.url.endswith("theme.ogg")
    assert [u.rsplit("/", 1)[1] for u in first.alternates] == ["theme.mp3", "theme.m4a"]
    preferred = detect_page(page, prefer=("m4a", "mp3")).tracks[0]
    assert preferred.url.endswith("theme.m4a")
    assert [u.rsplit("/", 1)[1] for u in preferred.alternates] == ["theme.ogg", "theme.mp3"]
    assert detect_page(page, prefer=("flac",)).tracks[0].url.endswith("theme.ogg")


def test_an_alternate_found_elsewhere_is_not_a_second_track() -> None:
    page = page_of(
        """<audio title="Theme"><source src="theme.mp3"><source src="theme.ogg"></audio>
        <a href="theme.ogg">Theme (Ogg)</a>"""
    )
    assert [u.rsplit("/", 1)[1] for u in urls(detect_page(page))] == ["theme.mp3"]


def test_streams_are_reported_not_listed() -> None:
    page = page_of(
        """<audio src="rtmp://live.example.invalid/radio"></audio>
        <audio src="/radio/stream"></audio><audio src="song.mp3" title="Song"></audio>"""
    )
    detection = detect_page(page)
    assert urls(detection) == ["http://127.0.0.1:8000/show/song.mp3"]
    assert [s.url for s in detection.skipped] == [
        "rtmp://live.example.invalid/radio",
        "http://127.0.0.1:8000/radio/stream",
    ]


def test_a_forced_plugin_runs_alone_and_an_unknown_one_names_the_choices() -> None:
    page = page_of('<audio src="a.mp3"></audio><a href="b.mp3">B</a>')
    only_links = detect_page(page, plugin="links")
    assert only_links.player == "links"
    assert [u.rsplit("/", 1)[1] for u in urls(only_links)] == ["b.mp3"]
    with pytest.raises(DetectError) as caught:
        detect_page(page, plugin="winamp")
    assert "winamp" in caught.value.user_message
    assert "html5_audio" in caught.value.user_message and "links" in caught.value.user_message


def test_base_href_and_protocol_relative_urls_resolve() -> None:
    page = page_of(
        """<head><base href="https://media.example.invalid/library/"></head>
        <audio src="a.mp3" title="A"></audio><audio src="//cdn.example.invalid/b.mp3" title="B"></audio>
        <a href="/c.mp3">C</a>""",
        url="https://www.example.invalid/page",
    )
    assert urls(detect_page(page)) == [
        "https://media.example.invalid/library/a.mp3",
        "https://cdn.example.invalid/b.mp3",
        "https://media.example.invalid/c.mp3",
    ]


# --- detect() against a local server -----------------------------------------------------------


class Site:
    """A small local web site whose routes record what was asked of them."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.referers: dict[str, str | None] = {}
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.big_sent = 0
        self.base = ""
        self.big_done = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/{path:.*}", self.serve)

    def add(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = (body.encode() if isinstance(body, str) else body, content_type)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.hits[path] += 1
        self.referers[path] = request.headers.get("Referer")
        if path == "/slow.js":
            await asyncio.sleep(30)
        if path == "/endless.mp3":
            return await self.endless(request)
        if path == "/music/big-file":
            return await self.big_file(request)
        if path not in self.pages:
            raise web.HTTPNotFound()
        body, content_type = self.pages[path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def big_file(self, request: web.Request) -> web.StreamResponse:
        """64 MiB of MP3 frames behind a URL without an extension, counting what really left."""
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = BIG_FILE
        await response.prepare(request)
        chunk = b"ID3\x04\0\0\0\0\0\0" + FRAME * (65536 // len(FRAME))
        try:
            while self.big_sent < BIG_FILE:
                piece = chunk[: BIG_FILE - self.big_sent]
                await response.write(piece)
                self.big_sent += len(piece)
        except ConnectionError:
            pass
        finally:
            self.big_done.set()
        return response

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg", "icy-name": "Harbour FM"})
        await response.prepare(request)
        while True:  # an Icecast stream never ends; the client must hang up
            await response.write(FRAME * 16)
            await asyncio.sleep(0)


@pytest.fixture
async def site(aiohttp_server):
    site = Site()
    site.base = await served(aiohttp_server, site.app)
    return site


async def run_detect(url: str, settings: Settings = SETTINGS, **options):
    async with open_fetcher(settings) as fetcher:
        return await detect(fetcher, url, settings=settings, **options)


STARTER = "jQuery(function($){ $('audio').mediaelementplayer({features: ['playpause']}); });"


async def test_same_site_scripts_are_fetched_with_the_page_as_referer(site) -> None:
    port = site.base.rsplit(":", 1)[1]
    site.add(
        "/index.html",
        f"""<script src="/js/player.js"></script>
        <script src="http://localhost:{port}/js/elsewhere.js"></script>
        <audio src="a.mp3" title="A"></audio>""",
    )
    site.add("/js/player.js", STARTER, "text/javascript")
    detection = await run_detect(site.base + "/index.html")
    assert detection.player == "mediaelement"  # its starter was only in the fetched script
    assert site.hits["/js/player.js"] == 1
    assert site.referers["/js/player.js"] == site.base + "/index.html"
    assert site.hits["/js/elsewhere.js"] == 0


async def test_cross_site_scripts_are_not_read(site) -> None:
    port = site.base.rsplit(":", 1)[1]
    site.add(
        "/index.html",
        f"""<script src="http://localhost:{port}/js/player.js"></script><audio src="a.mp3"></audio>""",
    )
    site.add("/js/player.js", STARTER, "text/javascript")
    detection = await run_detect(site.base + "/index.html")
    assert detection.player == "html5_audio"
    assert site.hits["/js/player.js"] == 0


async def test_scripts_are_bounded_in_count(site) -> None:
    tags = "".join(f'<script src="/js/s{i}.js"></script>' for i in range(MAX_SCRIPTS + 6))
    site.add("/index.html", tags + '<audio src="a.mp3"></audio>')
    await run_detect(site.base + "/index.html")
    asked = sum(count for path, count in site.hits.items() if path.startswith("/js/"))
    assert asked == MAX_SCRIPTS


async def test_a_script_over_the_byte_cap_is_ignored_and_the_page_still_works(site) -> None:
    settings = Settings(allow_networks=parse_networks("127.0.0.0/8"), max_page_bytes=16 * 1024)
    site.add("/index.html", '<script src="/big.js"></script><audio src="a.mp3"></audio>')
    site.add("/big.js", "/*" + "x" * 32 * 1024 + "*/" + STARTER, "text/javascript")
    detection = await run_detect(site.base + "/index.html", settings)
    assert site.hits["/big.js"] == 1
    assert detection.player == "html5_audio"
    assert urls(detection) == [site.base + "/a.mp3"]


async def test_scripts_still_loading_when_the_time_is_up_are_left_out(site) -> None:
    site.add("/index.html", '<script src="/slow.js"></script><script src="/quick.js"></script>')
    site.add("/quick.js", "var quick = 1;", "text/javascript")
    page = page_of(site.pages["/index.html"][0].decode(), url=site.base + "/index.html")
    async with open_fetcher(SETTINGS) as fetcher:
        texts = await fetch_scripts(
            fetcher, page.url, script_urls(page), max_bytes=SETTINGS.max_page_bytes, budget=0.5
        )
    assert texts == {site.base + "/quick.js": "var quick = 1;"}


async def test_an_audio_url_is_not_downloaded_whole(site) -> None:
    detection = await run_detect(site.base + "/music/big-file")
    await asyncio.wait_for(site.big_done.wait(), timeout=10)
    assert detection.player == "direct_audio"
    assert urls(detection) == [site.base + "/music/big-file"]
    assert site.big_sent < BIG_FILE // 4  # the client hung up after the first bytes


async def test_a_live_stream_url_is_reported_not_read_forever(site) -> None:
    detection = await run_detect(site.base + "/endless.mp3")
    assert detection.tracks == ()
    assert [s.url for s in detection.skipped] == [site.base + "/endless.mp3"]


async def test_the_html5lib_quadratic_page_finishes_fast_and_the_loop_keeps_answering(site) -> None:
    crafted = "<b>" * 40_000 + "</p>" * 40_000  # 280 KB; html5lib's tree builder needs minutes here
    site.add("/crafted.html", crafted)
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        # NoAudioError, not ParseError: the page was read within the detection budget (html5lib's tree
        # builder would need minutes); no wall-clock figure is asserted on this shared machine.
        with pytest.raises(NoAudioError):
            await run_detect(site.base + "/crafted.html")
    finally:
        ticking.cancel()
    assert gaps, "the event loop never ran while the page was analysed"


async def test_a_page_over_its_parsing_budget_is_a_clear_parse_error(site) -> None:
    site.add("/big.html", "<p>word</p>" * 50_000 + '<audio src="a.mp3"></audio>')
    with pytest.raises(ParseError) as caught:
        await run_detect(site.base + "/big.html", budget=0.001)
    assert "could not be read within" in caught.value.user_message


async def test_no_audio_lists_what_was_looked_for(site) -> None:
    site.add("/empty.html", "<h1>Opening hours</h1><p>Monday to Friday.</p><a href='/menu.pdf'>Menu</a>")
    with pytest.raises(NoAudioError) as caught:
        await run_detect(site.base + "/empty.html")
    assert caught.value.user_message == "No audio found on this page."
    looked = caught.value.looked_for
    assert looked == looked_for()  # every convention, in registry order
    assert any("HTML5 <audio>" in item for item in looked) and any(
        "links to audio files" in i for i in looked
    )


async def test_an_unknown_plugin_fails_before_any_request(site) -> None:
    site.add("/index.html", '<audio src="a.mp3"></audio>')
    with pytest.raises(DetectError, match="available: auto"):
        await run_detect(site.base + "/index.html", plugin="nope")
    assert site.hits["/index.html"] == 0
