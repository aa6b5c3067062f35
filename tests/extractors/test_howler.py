from __future__ import annotations

import pytest

from audiofetch.extractors.howler import HowlerExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = HowlerExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_howler_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_howler_binds_each_playlist_item_into_the_howl_src_template():
    tracks = EXTRACTOR.extract(load("howler/player.html"))
    rave = by_url(tracks, "howler/audio/rave_digger.webm")
    assert rave.alternates == (ORIGIN + "howler/audio/rave_digger.mp3",)
    assert {track.extractor for track in tracks} == {"howler"}


def test_howler_src_list_holds_formats_of_one_sound_and_code_samples_are_ignored():
    tracks = EXTRACTOR.extract(load("howler/sounds.html"))
    assert by_url(tracks, "howler/sounds/birds.ogg").alternates == (ORIGIN + "howler/sounds/birds.mp3",)
    assert all("old-intro" not in track.url and "sound.webm" not in track.url for track in tracks)


def test_howler_radio_stations_are_reported_as_streams_not_tracks():
    page = load("howler/radio.html")
    skipped = EXTRACTOR.skipped(page)
    assert [stream.url for stream in skipped] == list(EXTRACTOR.TESTS[2].skipped)
    assert all(stream.reason == "live radio stream" for stream in skipped)
    assert all("somafm" not in track.url for track in EXTRACTOR.extract(page))


def test_howler_ignores_pages_without_howler_and_odd_scripts():
    plain = make_page(
        ORIGIN + "x.html", b"<html><body><a href='a.mp3'>a</a></body></html>", content_type="text/html"
    )
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    broken = b"<script>var s = new Howl({src: ['a.mp3', </script><script>new Howl(((</script>"
    page = make_page(ORIGIN + "y.html", broken, content_type="text/html")
    assert EXTRACTOR.extract(page) == []
