"""HLS audio (VOD) against a real local server: joined byte-exact, in order, decrypted, retried, refused
when live; plus the pure parts (playlist parser, TS demuxer, decryption) on hand-made bytes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from audiofetch.detect import detect
from audiofetch.download import DirectorySink, DownloadReport, ProgressEvent, TrackProgress, download_all
from audiofetch.download._hls import LIVE_MESSAGE, SEGMENT_WORKERS, hls_extension
from audiofetch.download._hls_join import JoinError, decrypt_aes128, default_iv, strip_id3
from audiofetch.download._hls_playlist import (
    ByteRange,
    MasterPlaylist,
    MediaPlaylist,
    PlaylistError,
    choose_audio,
    parse_attributes,
    parse_playlist,
)
from audiofetch.download._mpegts import AudioDemuxer, DemuxError
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.download.hls_media import (
    HlsServer,
    TsWriter,
    adts_frames,
    encrypt,
    fmp4_init,
    fmp4_segment,
    id3_tag,
    media_playlist,
    start_hls_server,
    ts_segment,
)
from tests.download.media_server import FAST_RETRIES, settings

HLS_MIME = "application/vnd.apple.mpegurl"
KEY = bytes(range(16))


@pytest.fixture
async def hls(aiohttp_server: Any) -> HlsServer:
    return await start_hls_server(aiohttp_server)


async def run(
    url: str, folder: Path, events: list[ProgressEvent] | None = None, **caps: Any
) -> DownloadReport:
    config = settings(**caps)
    track = Track(url=url, title="Episode", mime=HLS_MIME)
    async with open_fetcher(config) as fetcher:
        return await download_all(
            fetcher, [track], DirectorySink(folder), workers=2, settings=config,
            on_event=None if events is None else events.append, retry_policy=FAST_RETRIES,
        )  # fmt: skip


def only_file(report: DownloadReport, folder: Path) -> tuple[str, bytes]:
    [result] = report.results
    assert result.status == "done", result.error
    assert result.filename is not None
    assert sorted(os.listdir(folder)) == [result.filename]
    data = (folder / result.filename).read_bytes()
    assert result.size == len(data)
    return result.filename, data


# --- against the server -----------------------------------------------------------------------------------


async def test_packed_adts_segments_are_joined_byte_exact_without_their_id3_timestamps(
    hls: HlsServer, tmp_path: Path
) -> None:
    frames = adts_frames(1, 30)
    parts = [b"".join(frames[i : i + 10]) for i in range(0, 30, 10)]
    names = [f"seg{i}.aac" for i in range(3)]
    for name, data in zip(names, parts, strict=True):
        hls.add(name, id3_tag() + data, "audio/aac")
    url = hls.playlist("ep.m3u8", media_playlist(names))
    name, data = only_file(await run(url, tmp_path), tmp_path)
    assert name == "01 - Episode.aac"
    assert data == b"".join(frames)


async def test_ts_segments_are_demuxed_to_the_exact_adts_stream(hls: HlsServer, tmp_path: Path) -> None:
    frames = adts_frames(2, 40)
    writer = TsWriter()  # one writer: continuity counters run on across segments, as a real muxer's do
    names = []
    for i in range(4):
        names.append(f"s{i}.ts")
        hls.add(names[-1], ts_segment(writer, frames[i * 10 : (i + 1) * 10]), "video/mp2t")
    url = hls.playlist("ts.m3u8", media_playlist(names))
    name, data = only_file(await run(url, tmp_path), tmp_path)
    assert name == "01 - Episode.aac"
    assert data == b"".join(frames)


@pytest.mark.parametrize("explicit_iv", [True, False], ids=["explicit-iv", "default-iv"])
async def test_aes128_segments_are_decrypted_and_the_key_fetched_once(
    hls: HlsServer, tmp_path: Path, explicit_iv: bool
) -> None:
    frames = adts_frames(3, 40)
    writer, iv = TsWriter(), bytes(range(100, 116))
    names = []
    for i in range(5):
        plain = ts_segment(writer, frames[i * 8 : (i + 1) * 8])
        names.append(f"enc{i}.ts")
        hls.add(names[-1], encrypt(plain, KEY, iv if explicit_iv else (7 + i).to_bytes(16, "big")))
    hls.add("key.bin", KEY)
    key_line = '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"' + (f",IV=0x{iv.hex()}" if explicit_iv else "")
    url = hls.playlist("enc.m3u8", media_playlist(names, sequence=7, head=key_line))
    _, data = only_file(await run(url, tmp_path), tmp_path)
    assert data == b"".join(frames)
    assert hls.hits["key.bin"] == 1


async def test_fmp4_with_init_section_is_joined_byte_exact_as_m4a(hls: HlsServer, tmp_path: Path) -> None:
    init = fmp4_init(4)
    segments = [fmp4_segment(40 + i) for i in range(5)]
    hls.add("init.mp4", init, "video/mp4")
    names = []
    for i, data in enumerate(segments):
        names.append(f"f{i}.m4s")
        hls.add(names[-1], data, "video/iso.segment")
    url = hls.playlist("f.m3u8", media_playlist(names, head='#EXT-X-MAP:URI="init.mp4"'))
    name, data = only_file(await run(url, tmp_path), tmp_path)
    assert name == "01 - Episode.m4a"
    assert data == init + b"".join(segments)
    assert hls.hits["init.mp4"] == 1


@pytest.mark.parametrize("ranges", [True, False], ids=["range-honoured", "range-ignored"])
async def test_byte_ranges_of_one_file_are_joined_in_order(
    hls: HlsServer, tmp_path: Path, ranges: bool
) -> None:
    init, segments = fmp4_init(5), [fmp4_segment(50 + i) for i in range(4)]
    hls.add("all.mp4", init + b"".join(segments), "video/mp4")
    if not ranges:
        hls.no_ranges.add("all.mp4")
    lines, offset = [], len(init)
    for i, data in enumerate(segments):
        # the first range says where it starts; the others follow on from the previous one
        lines += [f"#EXT-X-BYTERANGE:{len(data)}" + (f"@{offset}" if i == 0 else ""), "all.mp4"]
    head = f'#EXT-X-MAP:URI="all.mp4",BYTERANGE="{len(init)}@0"'
    text = media_playlist([], head=head).replace("#EXT-X-ENDLIST\n", "")
    text += "".join(f"#EXTINF:6.0,\n{line}\n" if not line.startswith("#") else f"{line}\n" for line in lines)
    url = hls.playlist("br.m3u8", text + "#EXT-X-ENDLIST\n")
    _, data = only_file(await run(url, tmp_path), tmp_path)
    assert data == init + b"".join(segments)


async def test_master_playlist_downloads_its_best_audio_only_rendition(
    hls: HlsServer, tmp_path: Path
) -> None:
    low, high = adts_frames(6, 12), adts_frames(7, 12)
    for label, frames in (("64k", low), ("128k", high)):
        hls.add(f"{label}/a.aac", b"".join(frames[:6]))
        hls.add(f"{label}/b.aac", b"".join(frames[6:]))
        hls.playlist(f"{label}/index.m3u8", media_playlist(["a.aac", "b.aac"]))
    hls.playlist("video/index.m3u8", media_playlist(["v.ts"]))
    master = (
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\n'
        "video/index.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=70000,CODECS="mp4a.40.5"\n64k/index.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2"\n128k/index.m3u8\n'
    )
    url = hls.playlist("master.m3u8", master)
    _, data = only_file(await run(url, tmp_path), tmp_path)
    assert data == b"".join(high)
    assert not any(name.startswith(("64k/", "video/")) for name in hls.hits)


async def test_live_playlist_is_refused_with_a_clear_message(hls: HlsServer, tmp_path: Path) -> None:
    hls.add("l0.aac", b"".join(adts_frames(8, 4)))
    url = hls.playlist("live.m3u8", media_playlist(["l0.aac"], ended=False))
    report = await run(url, tmp_path)
    [result] = report.results
    assert (result.status, result.error) == ("failed", LIVE_MESSAGE)
    assert hls.hits["l0.aac"] == 0
    assert os.listdir(tmp_path) == []


async def test_segment_answering_503_once_is_retried(hls: HlsServer, tmp_path: Path) -> None:
    frames = adts_frames(9, 30)
    names = [f"r{i}.aac" for i in range(3)]
    for i, name in enumerate(names):
        hls.add(name, b"".join(frames[i * 10 : (i + 1) * 10]))
    hls.fail_once.add("r1.aac")
    url = hls.playlist("retry.m3u8", media_playlist(names))
    events: list[ProgressEvent] = []
    _, data = only_file(await run(url, tmp_path, events), tmp_path)
    assert data == b"".join(frames)
    assert hls.hits["r1.aac"] == 2
    assert any(isinstance(e, TrackProgress) and e.attempt == 1 and "503" in (e.error or "") for e in events)


async def test_segments_are_written_in_playlist_order_when_later_ones_arrive_first(
    hls: HlsServer, tmp_path: Path
) -> None:
    frames = adts_frames(10, 80)
    names = [f"o{i}.aac" for i in range(8)]
    for i, name in enumerate(names):
        hls.add(name, b"".join(frames[i * 10 : (i + 1) * 10]))
    last_in_window = names[SEGMENT_WORKERS - 1]
    hls.wait_for["o0.aac"] = last_in_window  # o0 answers only once the window's last segment was asked
    hls.wait_for["o1.aac"] = last_in_window
    url = hls.playlist("order.m3u8", media_playlist(names))
    _, data = only_file(await run(url, tmp_path), tmp_path)
    assert data == b"".join(frames)
    assert hls.finished.index(last_in_window) < hls.finished.index("o0.aac")


async def test_joined_file_over_the_size_cap_fails_and_leaves_nothing(hls: HlsServer, tmp_path: Path) -> None:
    names = [f"big{i}.aac" for i in range(3)]
    for i, name in enumerate(names):
        hls.add(name, b"".join(adts_frames(20 + i, 40)))
    url = hls.playlist("big.m3u8", media_playlist(names))
    report = await run(url, tmp_path, max_file_bytes=15_000)
    [result] = report.results
    assert result.status == "failed" and "limit" in (result.error or "")
    assert os.listdir(tmp_path) == []


async def test_per_file_deadline_covers_the_segments(hls: HlsServer, tmp_path: Path) -> None:
    hls.add("h0.aac", b"".join(adts_frames(11, 3)))
    hls.add("h1.aac", b"".join(adts_frames(12, 3)))
    hls.hang.add("h1.aac")
    url = hls.playlist("hang.m3u8", media_playlist(["h0.aac", "h1.aac"]))
    report = await run(url, tmp_path, file_deadline=0.5)
    [result] = report.results
    assert result.status == "failed" and "per-file limit" in (result.error or "")


async def test_cancelling_mid_stream_stops_every_segment_and_leaves_no_file(
    hls: HlsServer, tmp_path: Path
) -> None:
    names = [f"c{i}.aac" for i in range(6)]
    for i, name in enumerate(names):
        hls.add(name, b"".join(adts_frames(30 + i, 5)))
    hls.hang.add("c2.aac")
    url = hls.playlist("cancel.m3u8", media_playlist(names))
    job = asyncio.create_task(run(url, tmp_path))
    await hls.asked["c2.aac"].wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert os.listdir(tmp_path) == []
    segment_tasks = [t for t in asyncio.all_tasks() if "_Hls" in getattr(t.get_coro(), "__qualname__", "")]
    assert segment_tasks == []


async def test_wrong_key_gives_a_clear_error(hls: HlsServer, tmp_path: Path) -> None:
    hls.add("w0.ts", encrypt(ts_segment(TsWriter(), adts_frames(13, 5)), KEY, bytes(16)))
    hls.add("wrong.key", bytes(16))
    url = hls.playlist("w.m3u8", media_playlist(["w0.ts"], head='#EXT-X-KEY:METHOD=AES-128,URI="wrong.key"'))
    [result] = (await run(url, tmp_path)).results
    assert result.status == "failed" and "wrong key or IV" in (result.error or "")


async def test_sample_aes_is_refused_before_any_segment_is_fetched(hls: HlsServer, tmp_path: Path) -> None:
    hls.add("d0.ts", b"\x47" * 188)
    url = hls.playlist("drm.m3u8", media_playlist(["d0.ts"], head='#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"'))
    [result] = (await run(url, tmp_path)).results
    assert result.status == "failed" and "SAMPLE-AES" in (result.error or "")
    assert hls.hits["d0.ts"] == 0


async def test_detect_on_a_vod_playlist_url_gives_one_hls_track_that_downloads(
    hls: HlsServer, tmp_path: Path
) -> None:
    frames = adts_frames(14, 20)
    writer = TsWriter()
    hls.add("d/0.ts", ts_segment(writer, frames[:10]))
    hls.add("d/1.ts", ts_segment(writer, frames[10:]))
    url = hls.playlist("d/show.m3u8", media_playlist(["0.ts", "1.ts"], durations=5.5))
    config = settings()
    async with open_fetcher(config) as fetcher:
        detection = await detect(fetcher, url, settings=config)
        [track] = detection.tracks
        assert (track.url, track.mime, track.duration) == (url, HLS_MIME, 11.0)
        assert detection.skipped == ()
        assert await hls_extension(fetcher, track, referer=None) == "aac"
        report = await download_all(
            fetcher, detection.tracks, DirectorySink(tmp_path), workers=1, settings=config
        )
    name, data = only_file(report, tmp_path)
    assert name.endswith(".aac")
    assert data == b"".join(frames)


async def test_hls_extension_says_m4a_for_fmp4(hls: HlsServer) -> None:
    url = hls.playlist("x.m3u8", media_playlist(["s.m4s"], head='#EXT-X-MAP:URI="i.mp4"'))
    async with open_fetcher(settings()) as fetcher:
        assert await hls_extension(fetcher, Track(url=url, mime=HLS_MIME), referer=None) == "m4a"


# --- pure parts --------------------------------------------------------------------------------------------


def test_attributes_keep_quoted_commas_and_strip_quotes() -> None:
    found = parse_attributes('BANDWIDTH=1,CODECS="mp4a.40.2,avc1.4d",NAME="A, B",IV=0x0F')
    assert found == {"BANDWIDTH": "1", "CODECS": "mp4a.40.2,avc1.4d", "NAME": "A, B", "IV": "0x0F"}


def test_media_playlist_tracks_keys_sequence_byte_ranges_and_init() -> None:
    text = (
        '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-MAP:URI="init.mp4"\n'
        '#EXT-X-KEY:METHOD=AES-128,URI="k1",IV=0x1\n#EXTINF:4.0,\n#EXT-X-BYTERANGE:100@10\na.m4s\n'
        "#EXTINF:4.0,\n#EXT-X-BYTERANGE:50\na.m4s\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2.5,\nb.m4s\n#EXT-X-ENDLIST\n"
    )
    playlist = parse_playlist(text, "https://h.test/p/index.m3u8")
    assert isinstance(playlist, MediaPlaylist) and playlist.ended
    first, second, third = playlist.segments
    assert [s.sequence for s in playlist.segments] == [41, 42, 43]
    assert (first.byte_range, second.byte_range, third.byte_range) == (
        ByteRange(10, 100),
        ByteRange(110, 50),
        None,
    )
    assert first.key is not None and first.key.uri == "https://h.test/p/k1"
    assert first.key.iv == (1).to_bytes(16, "big")
    assert third.key is None and third.duration == 2.5
    assert {s.init.url for s in playlist.segments if s.init} == {"https://h.test/p/init.mp4"}


def test_master_prefers_highest_audio_only_bandwidth_then_default_rendition() -> None:
    audio_variants = parse_playlist(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.5"\nlow.m3u8\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\nvideo.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=128000\nhigh.m3u8\n",
        "https://h.test/m.m3u8",
    )
    assert isinstance(audio_variants, MasterPlaylist)
    assert choose_audio(audio_variants) == "https://h.test/high.m3u8"
    renditions = parse_playlist(
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="en",DEFAULT=YES,URI="lo/en.m3u8"\n'
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="fr",URI="hi/fr.m3u8"\n'
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="en",DEFAULT=YES,URI="hi/en.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.4d,mp4a.40.2",AUDIO="lo"\nv1.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,CODECS="avc1.64,mp4a.40.2",AUDIO="hi"\nv2.m3u8\n',
        "https://h.test/m.m3u8",
    )
    assert isinstance(renditions, MasterPlaylist)
    assert choose_audio(renditions) == "https://h.test/hi/en.m3u8"
    video_only = parse_playlist(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.4d"\nv.m3u8\n', "https://h.test/m.m3u8"
    )
    assert isinstance(video_only, MasterPlaylist) and choose_audio(video_only) is None


def test_text_without_extm3u_is_not_a_playlist() -> None:
    with pytest.raises(PlaylistError):
        parse_playlist("<html></html>", "https://h.test/x.m3u8")


def test_demuxer_drops_duplicate_packets_and_follows_a_pes_across_feeds() -> None:
    frames = adts_frames(15, 12)
    writer = TsWriter()
    stream = ts_segment(writer, frames, per_pes=12)  # one PES spanning many packets
    packets = [stream[i : i + 188] for i in range(0, len(stream), 188)]
    packets.insert(6, packets[5])  # a repeated packet (same continuity counter) must be dropped
    joined = b"".join(packets)
    demuxer = AudioDemuxer()
    out = demuxer.feed(joined[:1000]) + demuxer.feed(joined[1000:])  # cut mid-packet on purpose
    demuxer.finish()
    assert out == b"".join(frames) and demuxer.codec == "aac"


def test_demuxer_refuses_a_stream_without_audio() -> None:
    demuxer = AudioDemuxer()
    demuxer.feed(TsWriter().pat())
    with pytest.raises(DemuxError, match="no audio"):
        demuxer.finish()


def test_decryption_checks_padding_and_strip_id3_leaves_plain_audio_alone() -> None:
    data = b"".join(adts_frames(16, 3))
    iv = (3).to_bytes(16, "big")
    assert default_iv(3) == iv
    assert decrypt_aes128(encrypt(data, KEY, iv), KEY, iv) == data
    with pytest.raises(JoinError, match="wrong key"):
        decrypt_aes128(encrypt(data, KEY, iv), bytes(16), iv)
    assert strip_id3(id3_tag() + data) == data and strip_id3(data) == data
