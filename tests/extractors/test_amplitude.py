from __future__ import annotations

import pytest

from audiofetch.extractors.amplitude import AmplitudeExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = AmplitudeExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_amplitude_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_amplitude_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = 'Amplitude.init({songs: [{url: "a.mp3" ]})</script><script>Amplitude.init(5)'
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_amplitude_reports_live_songs_and_keeps_album_metadata():
    page = load("amplitude/blue-playlist.html")
    assert [stream.url for stream in EXTRACTOR.skipped(page)] == [ORIGIN + "live/;stream"]
    gun = by_url(EXTRACTOR.extract(page), "amplitude/songs/08%20The%20Gun.mp3")
    assert (gun.artist, gun.album) == ("Lorn", "Ask The Dust")
