from __future__ import annotations

import pytest

from audiofetch.extractors.jwplayer import JWPlayerExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = JWPlayerExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_jwplayer_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_jwplayer_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = (
        'jwplayer("x").setup({playlist: "https://cdn.example.invalid/feed.rss"}); jwplayer("y").setup({file: '
    )
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_jwplayer_leaves_video_and_remote_feeds_out_and_reports_hls():
    page = load("jwplayer/podcast.html")
    tracks = EXTRACTOR.extract(page)
    assert all("trailer" not in track.url and "cdn.example" not in track.url for track in tracks)
    assert by_url(tracks, "jwplayer/episodes/ep13-night-shift.m4a").alternates == (
        ORIGIN + "jwplayer/episodes/ep13-night-shift.ogg",
    )
    assert [(s.url, s.reason) for s in EXTRACTOR.skipped(page)] == [
        ("https://cdn.example.invalid/live/stream.m3u8", "HLS stream")
    ]


def test_jwplayer_accepts_a_source_typed_as_audio_without_extension():
    body = (
        b'<script>jwplayer("p").setup({title: "Show", sources: [{file: "/cast?id=7", type: "mp3"}]})</script>'
    )
    (track,) = EXTRACTOR.extract(make_page(ORIGIN + "j.html", body, content_type="text/html"))
    assert (track.url, track.title) == (ORIGIN + "cast?id=7", "Show")
