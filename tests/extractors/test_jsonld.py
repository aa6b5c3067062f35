"""jsonld: schema.org audio in ``application/ld+json`` blocks."""

from __future__ import annotations

import json

from audiofetch.extractors.jsonld import JsonLdExtractor
from audiofetch.models import Page
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = JsonLdExtractor()


def ld_page(*blocks: object, url: str = f"{HOST}/p/page.html") -> Page:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks)
    return text_page(url, f"<html><head>{scripts}</head><body><h1>x</h1></body></html>")


def test_album_fixture_reads_itemlist_recordings_with_album_and_artist() -> None:
    tracks = EXTRACTOR.extract(fixture_page("jsonld/album.html", "text/html"))
    assert [(t.url, t.title, t.duration) for t in tracks] == [
        (f"{HOST}/jsonld/audio/harbour-lights/01-paper-boats.mp3", "Paper Boats", 201.0),
        (f"{HOST}/jsonld/audio/harbour-lights/02-lantern.mp3", "Lantern", 242.0),
        (f"{HOST}/jsonld/audio/harbour-lights/03-tidewater.mp3", "Tidewater", 347.0),
    ]
    assert {(t.album, t.artist) for t in tracks} == {("Harbour Lights", "Lena Hart")}


def test_graph_fixture_reads_podcast_episode_media_and_a_separate_audio_object() -> None:
    tracks = EXTRACTOR.extract(fixture_page("jsonld/podcast-graph.html", "text/html"))
    assert [(t.url, t.title, t.artist, t.album) for t in tracks] == [
        (
            "https://cdn.example.invalid/qh/episode-042.mp3",
            "42: The Sound of Empty Rooms",
            "Mira Okafor",
            "Quiet Hours",
        ),
        (f"{HOST}/jsonld/audio/trailer-2024.m4a", "Season 3 trailer", None, None),
    ]


def test_playlist_with_a_plain_track_array_and_recording_urls() -> None:
    playlist = {
        "@context": "https://schema.org",
        "@type": "MusicPlaylist",
        "name": "Radio picks",
        "track": [
            {
                "@type": "MusicRecording",
                "name": "One",
                "url": "one.mp3",
                "byArtist": [{"name": "A"}, {"name": "B"}],
            },
            {"@type": "MusicRecording", "name": "Page only", "url": "http://127.0.0.1/tracks/two"},
            {"@type": "MusicRecording", "name": "Three", "audio": "three.ogg", "inAlbum": {"name": "LP"}},
        ],
    }
    tracks = EXTRACTOR.extract(ld_page(playlist))
    assert [(t.url, t.title, t.artist, t.album) for t in tracks] == [
        (f"{HOST}/p/one.mp3", "One", "A, B", None),
        (f"{HOST}/p/three.ogg", "Three", None, "LP"),
    ]


def test_top_level_array_and_audio_object_without_extension_when_typed() -> None:
    blocks = [
        {
            "@type": "AudioObject",
            "name": "Stream-less download",
            "contentUrl": "/dl?id=9",
            "encodingFormat": "audio/mpeg",
        },
        {"@type": "VideoObject", "name": "Trailer", "contentUrl": "/v/trailer.mp4"},
        {"@type": "AudioObject", "name": "Untyped but an AudioObject", "contentUrl": "/dl?id=10"},
    ]
    tracks = EXTRACTOR.extract(ld_page(blocks))
    assert [(t.url, t.title) for t in tracks] == [
        (f"{HOST}/dl?id=9", "Stream-less download"),
        (f"{HOST}/dl?id=10", "Untyped but an AudioObject"),
    ]


def test_recording_with_several_encodings_gives_alternates() -> None:
    recording = {
        "@type": "MusicRecording",
        "name": "Both",
        "audio": [
            {"@type": "AudioObject", "contentUrl": "both.ogg", "encodingFormat": "audio/ogg"},
            {"@type": "AudioObject", "contentUrl": "both.mp3", "encodingFormat": "audio/mpeg"},
        ],
    }
    [track] = EXTRACTOR.extract(ld_page(recording))
    assert (track.url, track.alternates) == (f"{HOST}/p/both.ogg", (f"{HOST}/p/both.mp3",))


def test_live_radio_objects_are_not_tracks() -> None:
    station = {"@type": "AudioObject", "name": "Live", "contentUrl": "rtmp://127.0.0.1/live"}
    hls = {"@type": "AudioObject", "name": "HLS", "contentUrl": "https://h.example.invalid/live.m3u8"}
    assert EXTRACTOR.extract(ld_page(station, hls)) == []


def test_broken_blocks_are_skipped_and_deep_nesting_is_walked() -> None:
    deep: object = {"@type": "AudioObject", "contentUrl": "deep.mp3"}
    for _ in range(400):
        deep = {"@type": "Thing", "about": deep}
    page = text_page(
        f"{HOST}/p/x.html",
        '<html><head><script type="application/ld+json">{"@type": "AudioObject",</script>'
        f'<script type="application/ld+json">{json.dumps(deep)}</script></head></html>',
    )
    assert [t.url for t in EXTRACTOR.extract(page)] == [f"{HOST}/p/deep.mp3"]


def test_pages_without_json_ld_give_nothing() -> None:
    page = text_page(f"{HOST}/", '<html><body><a href="a.mp3">A</a></body></html>')
    assert not EXTRACTOR.detects(page)
    assert EXTRACTOR.extract(page) == []
