"""xspf: ``<track><location>`` with titles, creators, albums and millisecond durations."""

from __future__ import annotations

from audiofetch.extractors.xspf import XspfExtractor
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = XspfExtractor()


def test_fixture_gives_tracks_with_metadata_and_location_alternates() -> None:
    page = fixture_page("xspf/mixtape.xspf", "application/xspf+xml")
    tracks = EXTRACTOR.extract(page)
    assert [(t.url, t.title, t.artist, t.album, t.duration) for t in tracks] == [
        (f"{HOST}/xspf/tracks/01-paper-boats.ogg", "Paper Boats", "Lena Hart", "Harbour Lights", 201.0),
        (f"{HOST}/xspf/tracks/02-%C3%A9t%C3%A9-indien.mp3", "L'Été indien", "Les Grives", None, 187.512),
        ("http://127.0.0.1/mirror/03-salt.flac", "Salt", "The Slow Tides", "Rooftops", 242.0),
    ]
    assert tracks[0].alternates == (f"{HOST}/xspf/tracks/01-paper-boats.mp3",)
    assert [s.url for s in EXTRACTOR.skipped(page)] == ["http://127.0.0.1:8000/radio"]


def test_entity_declarations_are_refused() -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE playlist [<!ENTITY t "Title">]>'
        '<playlist xmlns="http://xspf.org/ns/0/"><trackList><track><location>a.mp3</location>'
        "<title>&t;</title></track></trackList></playlist>"
    )
    assert EXTRACTOR.extract(text_page(f"{HOST}/a.xspf", body, "application/xspf+xml")) == []


def test_other_xml_and_broken_documents_give_nothing() -> None:
    assert (
        EXTRACTOR.extract(text_page(f"{HOST}/a.xspf", "<playlist><trackList><track>", "application/xspf+xml"))
        == []
    )
    assert (
        EXTRACTOR.extract(text_page(f"{HOST}/a.xml", '<?xml version="1.0"?><rss/>', "application/xml")) == []
    )
