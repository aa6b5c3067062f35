"""json_blobs: audio URLs in ``__NEXT_DATA__`` and other ``application/json`` scripts."""

from __future__ import annotations

import json

from audiofetch.extractors.json_blobs import JsonBlobExtractor
from audiofetch.models import Page
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = JsonBlobExtractor()


def blob_page(data: object, kind: str = "application/json") -> Page:
    return text_page(
        f"{HOST}/app/",
        f'<html><body><div id="root"></div><script type="{kind}">{json.dumps(data)}</script></body></html>',
    )


def test_next_data_fixture_finds_episodes_with_parent_titles_and_ignores_images_and_video() -> None:
    tracks = EXTRACTOR.extract(fixture_page("json_blobs/next.html", "text/html"))
    assert [(t.url, t.title, t.duration) for t in tracks] == [
        (f"{HOST}/media/shows/night-shift/ep-12-signal-box.mp3", "The Signal Box", 1834.0),
        (f"{HOST}/api/media/ep-11/stream?token=6d1f0a", "Lost Property", 2011.0),
        (f"{HOST}/media/shows/night-shift/ep-10-last-bus.m4a", "The Last Bus", 1702.0),
    ]


def test_format_keys_of_one_object_are_alternates_of_one_track() -> None:
    data = {
        "songs": [
            {
                "name": "Paper Boats",
                "artist": "Lena Hart",
                "mp3": "/a/1.mp3",
                "ogg": "/a/1.ogg",
                "cover": "/a/1.jpg",
            }
        ]
    }
    [track] = EXTRACTOR.extract(blob_page(data))
    assert (track.url, track.alternates, track.title, track.artist) == (
        f"{HOST}/a/1.mp3",
        (f"{HOST}/a/1.ogg",),
        "Paper Boats",
        "Lena Hart",
    )


def test_src_lists_and_format_labels() -> None:
    data = {"tracks": [{"title": "MP3", "src": ["/b/2.ogg", "/b/2.mp3"]}]}
    [track] = EXTRACTOR.extract(blob_page(data))
    assert (track.url, track.alternates, track.title) == (f"{HOST}/b/2.ogg", (f"{HOST}/b/2.mp3",), None)


def test_untyped_urls_need_an_audio_extension_and_bare_words_are_not_urls() -> None:
    data = {
        "items": [
            {"title": "Page", "url": "/about"},
            {"title": "Name only", "file": "song.mp3"},
            {"title": "Ok", "href": "/c/3.flac"},
        ]
    }
    assert [t.title for t in EXTRACTOR.extract(blob_page(data))] == ["Ok"]


def test_json_ld_and_other_script_types_are_not_scanned_here() -> None:
    data = {"title": "X", "url": "/d/4.mp3"}
    assert EXTRACTOR.extract(blob_page(data, "application/ld+json")) == []
    assert EXTRACTOR.extract(blob_page(data, "text/template")) == []


def test_icecast_urls_in_blobs_are_reported() -> None:
    data = {"station": {"name": "Harbour Radio", "streamUrl": "http://127.0.0.1:8010/;stream.mp3"}}
    page = blob_page(data)
    assert EXTRACTOR.extract(page) == []
    assert [s.url for s in EXTRACTOR.skipped(page)] == ["http://127.0.0.1:8010/;stream.mp3"]


def test_broken_blobs_give_nothing() -> None:
    page = text_page(f"{HOST}/", '<html><body><script type="application/json">{"a": </script></body></html>')
    assert EXTRACTOR.extract(page) == []
