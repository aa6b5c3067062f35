from __future__ import annotations

import pytest

from audiofetch.extractors.podlove import PodloveExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, load

EXTRACTOR = PodloveExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_podlove_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_podlove_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = 'podlovePlayer("#x", "episode.json", "config.json"); podlovePlayer("#y", {audio: ['
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_podlove_audio_list_is_the_formats_of_one_episode_titled_by_the_episode():
    (track,) = EXTRACTOR.extract(load("podlove/episode.html"))
    assert track.alternates == (
        ORIGIN + "podlove/media/pod042-motivation.mp3",
        ORIGIN + "podlove/media/pod042-motivation.opus",
    )
    assert track.album == "Podlovers"
    assert "Audio" not in (track.title or "")
