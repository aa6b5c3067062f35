from __future__ import annotations

import pytest

from audiofetch.extractors.jplayer import JPlayerExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = JPlayerExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_jplayer_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_jplayer_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = '$("#j").jPlayer("setMedia", {mp3: ["a.mp3", </script><script>new jPlayerPlaylist((('
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_jplayer_orders_formats_by_supplied_and_leaves_video_out():
    single = EXTRACTOR.extract(load("jplayer/single.html"))
    assert single[0].alternates == (ORIGIN + "jplayer/media/Miaow-07-Bubble.ogg",)
    tracks = EXTRACTOR.extract(load("jplayer/playlist.html"))
    cro = by_url(tracks, "jplayer/audio/ogg/TSP-01-Cro_magnon_man.ogg")
    assert cro.alternates == (ORIGIN + "jplayer/audio/mp3/TSP-01-Cro_magnon_man.mp3",)
    assert cro.artist == "The Stark Palace"
    assert all("Big_Buck_Bunny" not in track.url for track in tracks)


def test_jplayer_reports_rtmp_audio_as_a_stream():
    body = b"""<script>$("#j").jPlayer({ready: function () { $(this).jPlayer("setMedia", {
        title: "Live", rtmpa: "rtmp://media.example.invalid/live/radio"}); }, supplied: "rtmpa"});</script>"""
    page = make_page(ORIGIN + "live.html", body, content_type="text/html")
    assert EXTRACTOR.extract(page) == []
    assert [stream.url for stream in EXTRACTOR.skipped(page)] == ["rtmp://media.example.invalid/live/radio"]
