"""``detect_given``: a page handed over (a browser's DOM) plus the media URLs the browser loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from audiofetch.config import Settings
from audiofetch.detect import MAX_MEDIA_URLS, GivenPage, detect_given
from audiofetch.errors import NoAudioError, TooLargeError
from audiofetch.net import Fetcher, open_fetcher

PAGE = "http://127.0.0.1:9/show/episodes"
DOM = """<!DOCTYPE html><html><head><title>Night Trains</title></head><body>
<x-player><template shadowrootmode="open">
<audio src="/media/one.mp3" title="One"></audio></template></x-player>
<template><audio src="/media/inert.mp3"></audio></template>
<ul><li><a href="/media/two.mp3">Two</a></li></ul>
</body></html>"""


@pytest.fixture
async def fetcher(settings: Settings) -> AsyncIterator[Fetcher]:
    async with open_fetcher(settings) as opened:
        yield opened


async def test_the_dom_and_the_media_urls_merge_into_one_list(settings: Settings, fetcher: Fetcher) -> None:
    given = GivenPage(
        PAGE,
        DOM,
        media_urls=(
            "http://127.0.0.1:9/media/two.mp3",  # also in the DOM: keeps the DOM's title and place
            "http://127.0.0.1:9/stream/live/master.m3u8?token=1",
            "http://127.0.0.1:9/media/Bonus%20Track.m4a",
            "http://127.0.0.1:9/dash/manifest.mpd",
            "blob:http://127.0.0.1:9/0b6e",
            "http://[::1/broken.mp3",
            "http://127.0.0.1:99999/port.mp3",
            "http:///nohost.mp3",
            "http://127.0.0.1:9/with space.mp3",
        ),
    )
    detection = await detect_given(fetcher, given, settings=settings)
    assert detection.title == "Night Trains" and detection.page_url == PAGE
    tracks = [(t.url.removeprefix("http://127.0.0.1:9"), t.title, t.index) for t in detection.tracks]
    # The DOM's tracks first (a plain <template> is inert, a shadow root is shown; their order among
    # themselves is the merge step's), then the rest as seen.
    assert {t[:2] for t in tracks[:2]} == {("/media/one.mp3", "One"), ("/media/two.mp3", "Two")}
    assert tracks[2:] == [
        ("/stream/live/master.m3u8?token=1", "master", 3),
        ("/media/Bonus%20Track.m4a", "Bonus Track", 4),
    ]
    assert detection.tracks[2].mime == "application/vnd.apple.mpegurl"
    assert [(s.url, s.reason.split(" ")[0]) for s in detection.skipped] == [
        ("http://127.0.0.1:9/dash/manifest.mpd", "DASH")
    ]


async def test_the_tab_title_is_used_when_the_dom_has_none(settings: Settings, fetcher: Fetcher) -> None:
    given = GivenPage(PAGE, "<p>Hi</p>", title="  Episode\n 4  ", media_urls=("http://127.0.0.1:9/a.mp3",))
    detection = await detect_given(fetcher, given, settings=settings)
    assert detection.title == "Episode 4"
    assert [t.url for t in detection.tracks] == ["http://127.0.0.1:9/a.mp3"]


async def test_media_urls_are_capped(settings: Settings, fetcher: Fetcher) -> None:
    urls = tuple(f"http://127.0.0.1:9/m/{n}.mp3" for n in range(MAX_MEDIA_URLS + 50))
    detection = await detect_given(fetcher, GivenPage(PAGE, "<p></p>", media_urls=urls), settings=settings)
    assert len(detection.tracks) == MAX_MEDIA_URLS


async def test_a_page_over_the_size_limit_is_refused(settings: Settings, fetcher: Fetcher) -> None:
    small = settings.with_overrides(max_page_bytes=1000)
    with pytest.raises(TooLargeError, match="1000 byte page limit"):
        await detect_given(fetcher, GivenPage(PAGE, "é" * 501), settings=small)


async def test_nothing_found_says_so(settings: Settings, fetcher: Fetcher) -> None:
    with pytest.raises(NoAudioError, match="page sent"):
        await detect_given(fetcher, GivenPage(PAGE, "<p>No sound</p>"), settings=settings)


async def test_segments_beside_a_manifest_are_not_tracks(settings: Settings, fetcher: Fetcher) -> None:
    urls = (
        "http://127.0.0.1:9/hls/ep1/index.m3u8",
        *(f"http://127.0.0.1:9/hls/ep1/seg-{n:05d}.aac" for n in range(40)),
        "http://127.0.0.1:9/hls/ep1-bonus.mp3",  # another folder: a file of its own
    )
    detection = await detect_given(fetcher, GivenPage(PAGE, "<p></p>", media_urls=urls), settings=settings)
    assert [t.url.rsplit("/", 2)[-2:] for t in detection.tracks] == [
        ["ep1", "index.m3u8"],
        ["hls", "ep1-bonus.mp3"],
    ]
