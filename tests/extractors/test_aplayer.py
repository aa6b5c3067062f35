from __future__ import annotations

import pytest

from audiofetch.extractors.aplayer import APlayerExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = APlayerExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_aplayer_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_aplayer_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = 'new APlayer({audio: [{url: "a.mp3", }}</script><script>new APlayer((('
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_aplayer_reads_artists_covers_and_skips_meting_that_names_a_remote_list():
    tracks = EXTRACTOR.extract(load("aplayer/playlist.html"))
    first = by_url(tracks, "aplayer/music/hikarunara.mp3")
    assert (first.artist, first.artwork) == ("Goose house", ORIGIN + "aplayer/music/hikarunara.jpg")
    assert all("extra.mp3" not in track.url and "url.mp3" not in track.url for track in tracks)
    meting = EXTRACTOR.extract(load("aplayer/meting.html"))
    assert len(meting) == 1
