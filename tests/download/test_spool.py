"""ZipDownload and SpoolSink against a real local server: the ZIP streams while tracks download.

Each test reads the archive with a real ZIP reader. Ordering claims (streaming, backpressure,
cancellation) are checked on the order of events in one log, never on durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.download import Probe, ProgressEvent, TrackProgress, ZipDownload, probe_tracks
from audiofetch.errors import ZipError
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.download.media_server import ID3, OGG, payload
from tests.kit.site import served
from tests.zipcheck import python_reads, unzip_tests

KIB, MIB = 1024, 1024 * 1024


@dataclass
class Upstream:
    """Audio files with a behaviour each; ``log`` is shared with the test to order events.

    Behaviours: ``ok`` (honours Range), ``cut`` (every answer stops half-way and closes the connection),
    ``cut-norange`` (ignores Range; the first answer stops half-way), ``cut-changed`` (like
    ``cut-norange`` but later answers carry other bytes of the same length), ``paced`` (small pieces
    with pauses, so transfers overlap the reading).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    log: list[tuple[Any, ...]] = field(default_factory=list)
    base: str = ""

    def add(self, name: str, data: bytes, behaviour: str = "ok") -> Track:
        self.files[name] = data
        self.behaviour[name] = behaviour
        index = len(self.files)
        return Track(f"{self.base}/{name}", title=f"Song {index}", index=index)

    def requests(self, name: str) -> list[tuple[Any, ...]]:
        return [entry for entry in self.log if entry[0] == "request" and entry[1] == name]

    def ended(self, how: str) -> set[str]:
        return {entry[1] for entry in self.log if entry[0] == how}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.log.append(("request", name, request.headers.get("Range")))
        if name not in self.files:
            raise web.HTTPNotFound()
        data, mode = self.files[name], self.behaviour[name]
        first = len(self.requests(name)) == 1
        if mode == "cut-changed" and not first:
            data = bytes(b ^ 0x5A for b in data[:64]) + data[64:]
        start = (request.http_range.start or 0) if mode in ("ok", "cut", "paced") else 0
        body = data[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = "audio/mpeg"
        response.content_length = len(body)
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        cut = mode == "cut" or (mode.startswith("cut-") and first)
        end = len(body) // 2 if cut else len(body)
        step = 64 * KIB if mode == "paced" else 256 * KIB
        try:
            for offset in range(0, end, step):
                await response.write(body[offset : min(offset + step, end)])
                if mode == "paced":
                    await asyncio.sleep(0.005)
        except (ConnectionResetError, asyncio.CancelledError):
            self.log.append(("disconnected", name))
            raise
        if cut:
            assert request.transport is not None
            request.transport.close()
            self.log.append(("cut", name))
            return response
        await response.write_eof()
        self.log.append(("sent", name))
        return response


@pytest.fixture
async def upstream(aiohttp_server: Any) -> Upstream:
    server = Upstream()
    server.base = await served(aiohttp_server, server.handle, "/{name}")
    return server


def loopback(retries: int = 3) -> Settings:
    return Settings(allow_networks=parse_networks("127.0.0.0/8"), retries=retries)


def spool_files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


async def probes_for(config: Settings, tracks: list[Track], *, promised: bool) -> list[Probe]:
    async with open_fetcher(config) as fetcher:
        probes = await probe_tracks(fetcher, tracks, referer=None, workers=4)
    assert all(p.error is None and p.size is not None for p in probes)
    return probes if promised else [Probe(None, p.ext) for p in probes]


async def read_archive(
    config: Settings,
    tracks: list[Track],
    probes: list[Probe],
    spool: Path,
    *,
    workers: int = 3,
    log: list[tuple[Any, ...]] | None = None,
    prefixes: list[bytes] | None = None,
) -> tuple[bytes, ZipDownload]:
    """The whole archive, logging each chunk (with the running byte count) and each finished track."""
    trail = [] if log is None else log

    def note(event: ProgressEvent) -> None:
        if isinstance(event, TrackProgress) and event.status in ("done", "failed"):
            trail.append((event.status, event.index))

    received = bytearray()
    async with open_fetcher(config) as fetcher:
        download = ZipDownload(
            fetcher, tracks, probes, spool=spool, settings=config, workers=workers, on_event=note,
            prefixes=prefixes or (),
        )  # fmt: skip
        try:
            async for chunk in download.chunks():
                received += chunk
                trail.append(("chunk", len(received)))
        finally:
            await download.close()
    return bytes(received), download


def known_probes(tracks: list[Track], upstream: Upstream, *, promised: bool = True) -> list[Probe]:
    """Probes as ``probe_tracks`` gives them for these files, without its requests in the server's log."""
    return [Probe(len(upstream.files[t.url.rsplit("/", 1)[1]]) if promised else None, "mp3") for t in tracks]


def expected_entries(tracks: list[Track], upstream: Upstream, exts: list[str]) -> dict[str, bytes]:
    return {
        f"{track.index:02d} - {track.title}.{ext}": upstream.files[track.url.rsplit("/", 1)[1]]
        for track, ext in zip(tracks, exts, strict=True)
    }


async def test_promised_archive_has_the_exact_length_and_every_entry_intact(
    upstream: Upstream, tmp_path: Path
) -> None:
    tracks = [
        upstream.add(f"t{n}.mp3", payload(n, 100 * KIB + 7 * n * KIB, OGG if n % 3 == 0 else ID3))
        for n in range(1, 13)
    ]
    config = loopback()
    probes = await probes_for(config, tracks, promised=True)
    spool = tmp_path / "spool"
    archive, download = await read_archive(config, tracks, probes, spool)

    assert download.length == len(archive)
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    exts = ["ogg" if n % 3 == 0 else "mp3" for n in range(1, 13)]
    python_reads(path, expected_entries(tracks, upstream, exts))
    unzip_tests(path)
    assert download.report is not None and download.report.status == "completed"
    assert not spool.exists()


async def test_a_track_cut_for_good_aborts_a_promised_archive(upstream: Upstream, tmp_path: Path) -> None:
    tracks = [upstream.add(f"t{n}.mp3", payload(n, 600 * KIB)) for n in range(1, 5)]
    tracks.append(upstream.add("t5.mp3", payload(5, 600 * KIB), "cut"))
    config = loopback(retries=1)
    probes = await probes_for(config, tracks, promised=True)
    spool = tmp_path / "spool"
    log: list[tuple[Any, ...]] = []

    with pytest.raises(ZipError):
        await read_archive(config, tracks, probes, spool, log=log)
    assert ("failed", 5) in log
    assert not spool.exists()


async def test_a_track_cut_for_good_goes_to_errors_txt_when_nothing_was_promised(
    upstream: Upstream, tmp_path: Path
) -> None:
    tracks = [upstream.add(f"t{n}.mp3", payload(n, 1536 * KIB)) for n in range(1, 4)]
    tracks[1:1] = [upstream.add("broken.mp3", payload(9, 3 * MIB), "cut")]
    tracks = [Track(t.url, title=f"Song {n}", index=n) for n, t in enumerate(tracks, start=1)]
    config = loopback(retries=1)
    probes = await probes_for(config, tracks, promised=False)
    archive, download = await read_archive(config, tracks, probes, tmp_path / "spool")

    assert download.length is None
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    with zipfile.ZipFile(path) as opened:
        assert opened.testzip() is None
        names = opened.namelist()
        assert names == ["01 - Song 1.mp3", "03 - Song 3.mp3", "04 - Song 4.mp3", "ERRORS.txt"]
        for track, name in zip([tracks[0], *tracks[2:]], names, strict=False):
            assert opened.read(name) == upstream.files[track.url.rsplit("/", 1)[1]]
        errors = opened.read("ERRORS.txt").decode()
    assert "02 - Song 2.mp3" in errors and "cut off" in errors
    unzip_tests(path)
    assert download.report is not None
    assert [r.status for r in download.report.results] == ["done", "failed", "done", "done"]
    assert upstream.ended("cut") == {"broken.mp3"}


async def test_downloads_run_at_most_lookahead_tracks_ahead_of_a_slow_reader(
    upstream: Upstream, tmp_path: Path
) -> None:
    workers, count = 2, 10
    lookahead = 2 * workers  # ZipDownload's window
    tracks = [upstream.add(f"t{n}.mp3", payload(n, 300 * KIB)) for n in range(1, count + 1)]
    config = loopback()
    probes = known_probes(tracks, upstream)
    spool = tmp_path / "spool"
    done: list[int] = []
    window_full = asyncio.Event()

    def note(event: ProgressEvent) -> None:
        if isinstance(event, TrackProgress) and event.status == "done":
            done.append(event.index)
            if len(done) == lookahead:
                window_full.set()

    samples: list[list[str]] = []
    received = bytearray()
    async with open_fetcher(config) as fetcher:
        download = ZipDownload(
            fetcher, tracks, probes, spool=spool, settings=config, workers=workers, on_event=note
        )
        try:
            async for chunk in download.chunks():
                received += chunk
                samples.append(spool_files(spool))
                if not window_full.is_set():
                    # The reader stalls on the first entry: downloads fill the window and stop there.
                    await window_full.wait()
                    for _ in range(20):
                        await asyncio.sleep(0.01)  # room for a download that should not start
                    samples.append(spool_files(spool))
                    assert sorted(done) == [1, 2, 3, 4]
                    requested = {entry[1] for entry in upstream.log if entry[0] == "request"}
                    assert requested == {"t1.mp3", "t2.mp3", "t3.mp3", "t4.mp3"}
                    assert spool_files(spool) == [f"{pos:05d}.part" for pos in range(lookahead)]
                await asyncio.sleep(0.005)
        finally:
            await download.close()

    assert max(len(files) for files in samples) == lookahead
    assert all(len(files) <= lookahead for files in samples)
    assert len(received) == download.length
    assert not spool.exists()


async def test_first_archive_bytes_leave_before_any_track_has_finished(
    upstream: Upstream, tmp_path: Path
) -> None:
    tracks = [upstream.add(f"t{n}.mp3", payload(n, 3 * MIB), "paced") for n in range(1, 5)]
    config = loopback()
    probes = await probes_for(config, tracks, promised=True)
    log: list[tuple[Any, ...]] = []
    archive, download = await read_archive(config, tracks, probes, tmp_path / "spool", log=log)

    first_data = next(i for i, entry in enumerate(log) if entry[0] == "chunk" and entry[1] >= 256 * KIB)
    first_done = next(i for i, entry in enumerate(log) if entry[0] == "done")
    assert first_data < first_done  # audio bytes were in the archive while every track was still running
    assert sum(entry[0] == "done" for entry in log) == 4
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    python_reads(path, expected_entries(tracks, upstream, ["mp3"] * 4))
    assert len(archive) == download.length


async def test_close_in_the_middle_stops_the_transfers_and_leaves_no_file(
    upstream: Upstream, tmp_path: Path
) -> None:
    tracks = [upstream.add(f"t{n}.mp3", payload(n, 24 * MIB), "paced") for n in range(1, 7)]
    config = loopback()
    probes = known_probes(tracks, upstream)
    spool = tmp_path / "spool"
    async with open_fetcher(config) as fetcher:
        download = ZipDownload(fetcher, tracks, probes, spool=spool, settings=config, workers=3)
        chunks = download.chunks()
        async with contextlib.aclosing(chunks):
            first = await anext(chunks)
            assert first.startswith(b"PK\x03\x04")
            while len(spool_files(spool)) < 3:  # three transfers running
                await anext(chunks)
            await download.close()
        # The server notices on its next write that each running connection was closed.
        requested = {entry[1] for entry in upstream.log if entry[0] == "request"}
        for _ in range(500):
            if upstream.ended("disconnected") >= requested:
                break
            await asyncio.sleep(0.01)

    assert requested == {"t1.mp3", "t2.mp3", "t3.mp3"}
    assert upstream.ended("disconnected") == requested
    assert upstream.ended("sent") == set()
    assert not spool.exists()
    assert not any(tmp_path.iterdir())


async def test_close_before_reading_anything_is_harmless(upstream: Upstream, tmp_path: Path) -> None:
    tracks = [upstream.add("t1.mp3", payload(1, 10 * KIB))]
    config = loopback()
    async with open_fetcher(config) as fetcher:
        download = ZipDownload(
            fetcher, tracks, [Probe(None, "mp3")], spool=tmp_path / "spool", settings=config, workers=1
        )
        await download.close()
    assert upstream.log == [] and not any(tmp_path.iterdir())


@pytest.mark.parametrize("promised", [True, False])
async def test_a_restart_from_zero_after_the_reader_moved_on_gives_an_identical_entry(
    upstream: Upstream, tmp_path: Path, promised: bool
) -> None:
    """The server ignores Range and cuts the first answer half-way through a 3 MiB file (1.5 MiB sent,
    1 MiB of it already in the archive): the retry starts from zero and the entry is still exact."""
    tracks = [
        upstream.add("t1.mp3", payload(1, 3 * MIB), "cut-norange"),
        upstream.add("t2.mp3", payload(2, 200 * KIB)),
    ]
    config = loopback()
    probes = known_probes(tracks, upstream, promised=promised)
    archive, download = await read_archive(config, tracks, probes, tmp_path / "spool", log=upstream.log)

    assert download.length == (len(archive) if promised else None)
    first, retry = upstream.requests("t1.mp3")
    assert first[2] is None and retry[2] is not None  # the retry asked to resume...
    assert ("cut", "t1.mp3") in upstream.log  # ...but was answered from zero, after a cut
    before_retry = upstream.log[: upstream.log.index(retry)]
    assert max(e[1] for e in before_retry if e[0] == "chunk") >= MIB  # the reader had passed 1 MiB
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    python_reads(path, expected_entries(tracks, upstream, ["mp3", "mp3"]))
    unzip_tests(path)


async def test_a_restart_that_brings_other_bytes_is_not_spliced_into_a_promised_archive(
    upstream: Upstream, tmp_path: Path
) -> None:
    """Same cut and restart, but the second answer differs in bytes the archive already holds: the
    entry would mix two files under a CRC that matches the mix, so the stream is aborted instead."""
    tracks = [upstream.add("t1.mp3", payload(1, 3 * MIB), "cut-changed")]
    config = loopback()
    with pytest.raises(ZipError):
        await read_archive(config, tracks, known_probes(tracks, upstream), tmp_path / "spool")
    assert len(upstream.requests("t1.mp3")) == 2
    assert not (tmp_path / "spool").exists()


async def test_a_restart_that_brings_other_bytes_goes_to_errors_txt_without_a_promise(
    upstream: Upstream, tmp_path: Path
) -> None:
    tracks = [
        upstream.add("t1.mp3", payload(1, 3 * MIB), "cut-changed"),
        upstream.add("t2.mp3", payload(2, 100 * KIB)),
    ]
    config = loopback()
    probes = known_probes(tracks, upstream, promised=False)
    archive, download = await read_archive(config, tracks, probes, tmp_path / "spool")

    assert download.report is not None  # the file arrived, but not the one the archive started with
    assert [r.status for r in download.report.results] == ["failed", "done"]
    assert "changed" in (download.report.results[0].error or "")
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    with zipfile.ZipFile(path) as opened:
        assert opened.testzip() is None
        assert opened.namelist() == ["02 - Song 2.mp3", "ERRORS.txt"]
        assert opened.read("02 - Song 2.mp3") == upstream.files["t2.mp3"]
        errors = opened.read("ERRORS.txt").decode()
    assert "01 - Song 1.mp3" in errors and "changed" in errors


@pytest.mark.parametrize("behaviour", ["cut-norange", "cut-changed"])
async def test_a_prefixed_entry_is_checked_across_a_restart_with_one_crc(
    upstream: Upstream, tmp_path: Path, behaviour: str
) -> None:
    """The reader's CRC (prefix included) is the entry's: a restart with the same bytes gives an exact
    entry, one with other bytes is still caught, although the ZIP writer sums nothing itself."""
    tracks = [upstream.add("t1.mp3", payload(1, 3 * MIB), behaviour)]
    config = loopback()
    probes = [Probe(len(upstream.files["t1.mp3"]), "mp3")]  # the prefix is added to the size
    if behaviour == "cut-changed":
        with pytest.raises(ZipError):
            await read_archive(config, tracks, probes, tmp_path / "spool", prefixes=[b"PREFIX!"])
        return
    archive, download = await read_archive(config, tracks, probes, tmp_path / "spool", prefixes=[b"PREFIX!"])
    assert download.length == len(archive)
    path = tmp_path / "album.zip"
    path.write_bytes(archive)
    python_reads(path, {"01 - Song 1.mp3": b"PREFIX!" + upstream.files["t1.mp3"]})
    unzip_tests(path)
