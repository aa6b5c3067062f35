"""pls: ``[playlist]`` files in entry-number order; ``Length -1`` radio streams are reported."""

from __future__ import annotations

from audiofetch.extractors.pls import LIVE_REASON, PlsExtractor
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = PlsExtractor()


def test_fixture_orders_by_entry_number_and_skips_live_streams() -> None:
    page = fixture_page("pls/radio.pls", "audio/x-scpls")
    assert EXTRACTOR.detects(page)
    assert [(t.url, t.title, t.duration) for t in EXTRACTOR.extract(page)] == [
        (f"{HOST}/pls/shows/2024-03-01-morning.mp3", "Morning Show, 1 March", 3602.0),
        (f"{HOST}/pls/shows/2024-03-08-morning.mp3", "Morning Show, 8 March", 3540.0),
    ]
    assert [(s.url, s.reason) for s in EXTRACTOR.skipped(page)] == [
        ("http://127.0.0.1:8000/live", LIVE_REASON),
        ("http://127.0.0.1:8000/live-aac", LIVE_REASON),
    ]


def test_keys_are_case_insensitive_and_title_optional() -> None:
    body = "\ufeff[Playlist]\nfile1 = a.ogg\nFILE2=b.mp3\nTitle2=B side\nNumberOfEntries=2\n"
    tracks = EXTRACTOR.extract(text_page(f"{HOST}/p/list.pls", body, "audio/x-scpls"))
    assert [(t.url, t.title) for t in tracks] == [(f"{HOST}/p/a.ogg", None), (f"{HOST}/p/b.mp3", "B side")]


def test_stream_urls_without_length_are_still_reported() -> None:
    page = text_page(f"{HOST}/p.pls", "[playlist]\nFile1=rtmp://127.0.0.1/live/radio\n", "audio/x-scpls")
    assert EXTRACTOR.extract(page) == []
    assert [s.reason for s in EXTRACTOR.skipped(page)] == ["rtmp:// live stream"]


def test_other_documents_are_not_pls() -> None:
    assert EXTRACTOR.extract(text_page(f"{HOST}/a.ini", "[settings]\nFile1=a.mp3\n", "text/plain")) == []
    assert EXTRACTOR.extract(text_page(f"{HOST}/", "<html><body>[playlist]\nFile1=a.mp3</body></html>")) == []
