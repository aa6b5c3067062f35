"""direct_audio: a URL answering with an audio file is one track; Icecast answers are skipped streams."""

from __future__ import annotations

from audiofetch.extractors.direct_audio import LIVE_REASON, DirectAudioExtractor
from audiofetch.page import make_page
from tests.extractors.structured_pages import PAGES

MP3_HEAD = (PAGES / "direct_audio" / "song.mp3").read_bytes()[:512]
EXTRACTOR = DirectAudioExtractor()


def test_mp3_by_content_type_is_one_track_named_after_the_file() -> None:
    page = make_page(
        "http://127.0.0.1:8000/music/01%20Harbour%20Lights.mp3", MP3_HEAD, content_type="audio/mpeg"
    )
    assert EXTRACTOR.detects(page)
    [track] = EXTRACTOR.extract(page)
    assert (track.url, track.title, track.mime, track.extractor) == (
        "http://127.0.0.1:8000/music/01%20Harbour%20Lights.mp3",
        "01 Harbour Lights",
        "audio/mpeg",
        "direct_audio",
    )
    assert EXTRACTOR.skipped(page) == []


def test_magic_bytes_win_over_a_generic_content_type() -> None:
    page = make_page(
        "http://127.0.0.1:8000/download.php?id=7", MP3_HEAD, content_type="application/octet-stream"
    )
    [track] = EXTRACTOR.extract(page)
    assert track.mime == "audio/mpeg"
    assert track.title == "download"


def test_flac_and_ogg_are_sniffed_too() -> None:
    flac = make_page("http://127.0.0.1:8000/get/1", b"fLaC\x00\x00\x00\x22" + b"\x00" * 60)
    ogg = make_page("http://127.0.0.1:8000/get/2", b"OggS\x00\x02" + b"\x00" * 60)
    assert EXTRACTOR.extract(flac)[0].mime == "audio/flac"
    assert EXTRACTOR.extract(ogg)[0].mime == "audio/ogg"


def test_content_disposition_filename_is_the_title_rfc_6266_form_preferred() -> None:
    headers = (
        (
            "Content-Disposition",
            "attachment; filename=\"fallback.mp3\"; filename*=UTF-8''Caf%C3%A9%20Song.mp3",
        ),
    )
    page = make_page("http://127.0.0.1:8000/dl/8812", MP3_HEAD, content_type="audio/mpeg", headers=headers)
    assert EXTRACTOR.extract(page)[0].title == "Café Song"


def test_content_disposition_with_a_path_keeps_only_the_file_name() -> None:
    headers = (("content-disposition", 'attachment; filename="..\\\\music\\\\Night Trains.mp3"'),)
    page = make_page("http://127.0.0.1:8000/dl/1", MP3_HEAD, content_type="audio/mpeg", headers=headers)
    assert EXTRACTOR.extract(page)[0].title == "Night Trains"


def test_icecast_answer_is_a_skipped_stream_not_a_track() -> None:
    headers = (("Content-Type", "audio/mpeg"), ("icy-name", "Harbour Radio"), ("icy-br", "128"))
    page = make_page("http://127.0.0.1:8000/live", MP3_HEAD, content_type="audio/mpeg", headers=headers)
    assert EXTRACTOR.extract(page) == []
    [stream] = EXTRACTOR.skipped(page)
    assert (stream.url, stream.reason) == ("http://127.0.0.1:8000/live", LIVE_REASON)


def test_streaming_server_without_icy_headers_is_skipped_too() -> None:
    headers = (("Server", "Icecast 2.4.4"), ("Cache-Control", "no-cache, no-store"))
    page = make_page("http://127.0.0.1:8000/jazz.mp3", MP3_HEAD, content_type="audio/mpeg", headers=headers)
    assert EXTRACTOR.extract(page) == []
    assert [s.url for s in EXTRACTOR.skipped(page)] == ["http://127.0.0.1:8000/jazz.mp3"]


def test_playlists_served_as_audio_types_are_not_audio_files() -> None:
    m3u = make_page("http://127.0.0.1:8000/a.m3u", b"#EXTM3U\nb.mp3\n", content_type="audio/x-mpegurl")
    pls = make_page("http://127.0.0.1:8000/a.pls", b"[playlist]\nFile1=b.mp3\n", content_type="audio/x-scpls")
    untyped = make_page("http://127.0.0.1:8000/a", b"#EXTM3U\nb.mp3\n", content_type="audio/mpeg")
    for page in (m3u, pls, untyped):
        assert not EXTRACTOR.detects(page)
        assert EXTRACTOR.extract(page) == []


def test_error_page_served_as_audio_is_not_a_track() -> None:
    page = make_page(
        "http://127.0.0.1:8000/a.mp3",
        b"<!DOCTYPE html><html><body>404</body></html>",
        content_type="audio/mpeg",
    )
    assert EXTRACTOR.extract(page) == []


def test_html_pages_and_unknown_binaries_are_ignored() -> None:
    html = make_page(
        "http://127.0.0.1:8000/", b"<html><body><a href='a.mp3'>a</a></body></html>", content_type="text/html"
    )
    binary = make_page(
        "http://127.0.0.1:8000/file.bin", b"\x00\x01\x02\x03" * 30, content_type="application/octet-stream"
    )
    assert EXTRACTOR.extract(html) == [] and EXTRACTOR.extract(binary) == []


def test_unlisted_audio_type_is_still_one_track() -> None:
    page = make_page("http://127.0.0.1:8000/memo.amr", b"#!AMR\n" + b"\x00" * 40, content_type="audio/amr")
    [track] = EXTRACTOR.extract(page)
    assert (track.title, track.mime) == ("memo", "audio/amr")
