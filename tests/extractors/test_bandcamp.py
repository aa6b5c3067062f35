"""bandcamp: ``data-tralbum`` trackinfo streams, album and artist."""

from __future__ import annotations

import html
import json

from audiofetch.extractors.bandcamp import BandcampExtractor
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = BandcampExtractor()


def tralbum_page(data: object, embed: object | None = None) -> str:
    attrs = f'data-tralbum="{html.escape(json.dumps(data))}"'
    if embed is not None:
        attrs += f' data-embed="{html.escape(json.dumps(embed))}"'
    script = f'<script src="https://cdn.example.invalid/tralbum.js" {attrs}></script>'
    return f"<html><head>{script}</head><body></body></html>"


def test_album_fixture_lists_streamable_tracks_with_album_and_artist() -> None:
    page = fixture_page("bandcamp/album.html", "text/html")
    assert EXTRACTOR.detects(page)
    tracks = EXTRACTOR.extract(page)
    assert [t.title for t in tracks] == ["Low Tide Radio", "Saltmarsh", "Mooring Lines (feat. Ada Lindqvist)"]
    assert {(t.album, t.artist, t.mime) for t in tracks} == {
        ("Saltmarsh Sessions", "The Slow Tides", "audio/mpeg")
    }
    assert tracks[0].url.startswith("https://cdn.example.invalid/stream/2b7c81a2/mp3-128/1850262161?")
    assert tracks[0].duration == 241.853


def test_mp3_128_comes_first_and_other_encodings_are_alternates() -> None:
    data = {
        "artist": "A",
        "trackinfo": [{"title": "T", "file": {"mp3-v0": "/s/v0/1", "mp3-128": "/s/128/1"}}],
    }
    [track] = EXTRACTOR.extract(text_page(f"{HOST}/track/t", tralbum_page(data)))
    assert (track.url, track.alternates) == (f"{HOST}/s/128/1", (f"{HOST}/s/v0/1",))


def test_track_page_takes_its_album_from_data_embed() -> None:
    data = {
        "item_type": "track",
        "current": {"title": "Single", "type": "track"},
        "trackinfo": [{"title": "Single", "file": {"mp3-128": "/s/1"}}],
    }
    [track] = EXTRACTOR.extract(
        text_page(f"{HOST}/track/single", tralbum_page(data, {"album_title": "The LP"}))
    )
    assert (track.title, track.album) == ("Single", "The LP")


def test_unstreamable_and_malformed_entries_are_skipped_without_errors() -> None:
    data = {
        "trackinfo": [
            {"title": "No file", "file": None},
            "junk",
            {"title": 7, "file": {"mp3-128": 5}},
            {"file": {"mp3-128": "/s/ok"}},
        ]
    }
    tracks = EXTRACTOR.extract(text_page(f"{HOST}/album/x", tralbum_page(data)))
    assert [(t.url, t.title) for t in tracks] == [(f"{HOST}/s/ok", None)]


def test_broken_attribute_gives_nothing() -> None:
    body = '<html><body><script data-tralbum="{not json"></script></body></html>'
    assert EXTRACTOR.extract(text_page(f"{HOST}/album/x", body)) == []
    assert EXTRACTOR.extract(text_page(f"{HOST}/album/x", tralbum_page(["a", "list"]))) == []
