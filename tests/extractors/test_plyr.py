from __future__ import annotations

import pytest

from audiofetch.extractors.plyr import PlyrExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = PlyrExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_plyr_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_plyr_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = (
        'var player = new Plyr("#a"); player.source = {type: "video", sources: [{src: "v.mp4"}]};'
        " tracks = [{file: "
    )
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_plyr_template_uses_can_play_type_options_as_formats():
    tracks = EXTRACTOR.extract(load("plyr/audiobook.html"))
    assert by_url(tracks, "plyr/media/mythium/BS_TF.mp3").alternates == (
        ORIGIN + "plyr/media/mythium/BS_TF.ogg",
    )


def test_plyr_leaves_video_sources_and_embeds_out():
    assert all(".mp4" not in track.url for track in EXTRACTOR.extract(load("plyr/source.html")))
    assert all("trailer" not in track.url for track in EXTRACTOR.extract(load("plyr/markup.html")))


def test_plyr_tracks_array_with_full_links_and_variable_base():
    body = b"""<script src="plyr.js"></script><script>
    const base = "/books/emma/";
    const player = new Plyr('#a');
    var tracks = [{name: 'One', file: 'one'}, {name: 'Two', file: 'two'}];
    function load(i) { player.media.src = base + tracks[i].file + '.m4a'; }
    </script>"""
    tracks = EXTRACTOR.extract(make_page(ORIGIN + "p.html", body, content_type="text/html"))
    assert [(t.url, t.title) for t in tracks] == [
        (ORIGIN + "books/emma/one.m4a", "One"),
        (ORIGIN + "books/emma/two.m4a", "Two"),
    ]
