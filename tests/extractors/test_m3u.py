"""m3u: M3U/M3U8 track lists; radio entries and live HLS reported; HLS audio that ends is one track."""

from __future__ import annotations

from audiofetch.extractors.m3u import HLS_MIME, HLS_VIDEO, LIVE_ENTRY, LIVE_HLS, M3uExtractor
from audiofetch.models import Page
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = M3uExtractor()


def m3u(body: str, url: str = f"{HOST}/lists/mix.m3u", content_type: str = "audio/x-mpegurl") -> Page:
    return text_page(url, body, content_type)


def test_fixture_gives_tracks_in_order_with_artist_title_split_and_album() -> None:
    page = fixture_page("m3u/live-and-tracks.m3u", "audio/x-mpegurl")
    tracks = EXTRACTOR.extract(page)
    assert [(t.url, t.artist, t.title, t.duration) for t in tracks] == [
        (f"{HOST}/m3u/music/01%20Opening.mp3", "Lena Hart", "Opening", 214.0),
        (f"{HOST}/m3u/music/02-rooftops.ogg", "The Slow Tides", "Rooftops at Dusk", 187.0),
        ("http://127.0.0.1/archive/2023/session-b.flac", None, "Session B (live at Cafe Oto)", 1260.0),
        (f"{HOST}/shared/jingle.mp3", None, "Station Jingle", 12.0),
    ]
    assert {t.album for t in tracks} == {"Late Night Mix"}


def test_fixture_reports_radio_entries_and_leaves_out_video() -> None:
    page = fixture_page("m3u/live-and-tracks.m3u", "audio/x-mpegurl")
    assert [s.url for s in EXTRACTOR.skipped(page)] == [
        "http://127.0.0.1:8000/stream",
        "http://127.0.0.1:8010/;stream.mp3",
    ]
    assert all("rooftops.mp4" not in t.url for t in EXTRACTOR.extract(page))


def test_live_hls_media_playlist_is_skipped_as_live() -> None:
    page = fixture_page("m3u/live.m3u8", "application/vnd.apple.mpegurl")
    assert EXTRACTOR.extract(page) == []
    assert [(s.url, s.reason) for s in EXTRACTOR.skipped(page)] == [(f"{HOST}/m3u/live.m3u8", LIVE_HLS)]


def test_vod_hls_media_playlist_is_one_track_with_the_hls_mime_and_total_length() -> None:
    page = fixture_page("m3u/vod.m3u8", "application/vnd.apple.mpegurl")
    [track] = EXTRACTOR.extract(page)
    assert (track.url, track.mime, track.duration) == (f"{HOST}/m3u/vod.m3u8", HLS_MIME, 24.2)
    assert EXTRACTOR.skipped(page) == []


def test_hls_master_playlist_with_an_audio_only_variant_is_one_track() -> None:
    page = fixture_page("m3u/master.m3u8", "application/vnd.apple.mpegurl")
    [track] = EXTRACTOR.extract(page)
    assert (track.url, track.mime, track.duration) == (f"{HOST}/m3u/master.m3u8", HLS_MIME, None)
    assert EXTRACTOR.skipped(page) == []


def test_hls_master_playlist_with_an_audio_rendition_is_one_track() -> None:
    body = (
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,URI="en/a.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"\n'
        "v/360.m3u8\n"
    )
    page = m3u(body, f"{HOST}/hls/master.m3u8", "application/vnd.apple.mpegurl")
    assert [t.url for t in EXTRACTOR.extract(page)] == [f"{HOST}/hls/master.m3u8"]


def test_hls_master_playlist_with_only_video_variants_is_reported_as_video() -> None:
    body = (
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.4d401e,mp4a.40.2"\nv/360.m3u8\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\nv/180.m3u8\n"
    )
    page = m3u(body, f"{HOST}/hls/master.m3u8", "application/vnd.apple.mpegurl")
    assert EXTRACTOR.extract(page) == []
    assert [(s.url, s.reason) for s in EXTRACTOR.skipped(page)] == [(f"{HOST}/hls/master.m3u8", HLS_VIDEO)]


def test_plain_m3u_without_header_resolves_relative_entries_and_ignores_local_paths() -> None:
    body = "01.mp3\r\nsub/02.ogg\r\nC:\\Music\\03.mp3\r\nfile:///home/me/04.mp3\r\n/abs/05.flac\r\n"
    tracks = EXTRACTOR.extract(m3u(body))
    assert [t.url for t in tracks] == [
        f"{HOST}/lists/01.mp3",
        f"{HOST}/lists/sub/02.ogg",
        f"{HOST}/abs/05.flac",
    ]
    assert [t.title for t in tracks] == [None, None, None]


def test_minus_one_on_a_plain_file_is_a_track_but_on_a_stream_port_is_radio() -> None:
    body = "#EXTM3U\n#EXTINF:-1,Unknown length\nfile.mp3\n#EXTINF:-1,Jazz\nhttp://127.0.0.1:8010/jazz.mp3\n"
    page = m3u(body)
    assert [t.url for t in EXTRACTOR.extract(page)] == [f"{HOST}/lists/file.mp3"]
    assert [(s.url, s.reason) for s in EXTRACTOR.skipped(page)] == [
        ("http://127.0.0.1:8010/jazz.mp3", LIVE_ENTRY)
    ]


def test_iptv_attributes_do_not_leak_into_titles() -> None:
    body = '#EXTM3U\n#EXTINF:245 tvg-id="x" group-title="Rock",Band - Song, with comma\nsong.mp3\n'
    [track] = EXTRACTOR.extract(m3u(body))
    assert (track.artist, track.title) == ("Band", "Song, with comma")


def test_nested_playlists_are_reported_not_followed() -> None:
    page = m3u("#EXTM3U\nother.pls\nmore.m3u\n")
    assert EXTRACTOR.extract(page) == []
    assert [s.url for s in EXTRACTOR.skipped(page)] == [f"{HOST}/lists/other.pls", f"{HOST}/lists/more.m3u"]


def test_html_pages_are_not_playlists() -> None:
    page = text_page(f"{HOST}/index.html", "<html><body>#EXTM3U</body></html>")
    assert not EXTRACTOR.detects(page)
    assert EXTRACTOR.extract(page) == [] and EXTRACTOR.skipped(page) == []
