from __future__ import annotations

import pytest

from audiofetch.extractors.wavesurfer import WaveSurferExtractor
from audiofetch.page import make_page
from tests.extractors.js_fixtures import ORIGIN, assert_case, by_url, load

EXTRACTOR = WaveSurferExtractor()


@pytest.mark.parametrize("case", EXTRACTOR.TESTS, ids=lambda case: case.page)
def test_wavesurfer_fixture_pages_give_the_expected_tracks(case):
    assert_case(EXTRACTOR, case)


def test_wavesurfer_returns_nothing_for_other_pages_and_broken_scripts():
    plain = make_page(ORIGIN + "x.html", b"<body><a href='a.mp3'>a</a></body>", content_type="text/html")
    assert not EXTRACTOR.detects(plain)
    assert EXTRACTOR.extract(plain) == []
    assert EXTRACTOR.skipped(plain) == []
    broken_script = "var w = WaveSurfer.create({url: }); w.load(</script><script>w.load(f())"
    broken = make_page(
        ORIGIN + "y.html", f"<script>{broken_script}</script>".encode(), content_type="text/html"
    )
    assert EXTRACTOR.extract(broken) == []


def test_wavesurfer_ignores_jquery_load_and_urls_taken_from_links():
    tracks = EXTRACTOR.extract(load("wavesurfer/index.html"))
    assert all("sidebar" not in track.url for track in tracks)
    body = b"<script>var ws = WaveSurfer.create({container: '#w'}); ws.load(links[0].href);</script>"
    assert EXTRACTOR.extract(make_page(ORIGIN + "w.html", body, content_type="text/html")) == []
    assert by_url(tracks, "wavesurfer/media/demo.wav").title is None
