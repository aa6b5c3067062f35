"""ZIP while downloading: tracks download in parallel into spool files; the ZIP reads them in page order.

Used by browser mode (the ZIP streams to the browser as it is built) and ``audiofetch get --zip``.

- Each track is written to ``<spool>/<position>.part``; the ZIP entry for it reads that file *as it
  grows*, so the first byte of the archive leaves as soon as the first track's first bytes arrive.
- Downloads may run ahead of the reader by at most ``lookahead`` tracks (backpressure): temporary disk
  use is bounded by the files of that window, and each file is deleted once its entry is written.
- If a download restarts from zero (the server ignored Range) after the reader already passed some
  bytes, the reader waits until the new file is at least as long as what it sent, checks that its
  start has the CRC-32 of the bytes already sent, and goes on from there. Other bytes (the server
  sent another file) fail the entry rather than splice two files under a CRC that matches the mix;
  ``ZipDownload.report`` then counts the track as failed.
- ``ZipDownload.close()`` (or the consumer going away) cancels the downloads and removes the spool.
- Callers may put bytes before a track's data (``prefixes``, counted in the entry's size: an MP3 tag,
  say) and add entries after the tracks (``extra_entries``: a playlist). Both are opaque bytes here;
  what they mean is the caller's business.
- The reader's running CRC-32 (prefix included) is also the entry's: the ZIP writer takes it instead of
  summing every byte a second time (``zipstream.CheckedChunks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import zlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from audiofetch.config import Settings
from audiofetch.errors import DownloadError
from audiofetch.formats import guess
from audiofetch.models import Track
from audiofetch.naming import track_filename
from audiofetch.net import Fetcher
from audiofetch.zipstream import ZipEntry, zip_length, zip_stream

from ._pool import DownloadReport, download_all
from ._probe import Probe
from ._progress import OnEvent, ProgressEvent, TrackProgress
from ._sinks import _DISK_THREADS, HEAD_BYTES, PartFile, SavedFile, _write_all

__all__ = ["READ_SIZE", "SpoolSink", "ZipDownload", "entry_names"]

READ_SIZE = 1024 * 1024


@dataclass(slots=True)
class _Slot:
    """One track's spool file and what the reader needs to know about it."""

    path: Path
    name: str = ""
    size: int = 0
    head: bytes = b""
    done: bool = False
    error: str | None = None
    failed: bool = False
    delivered: bool = False  # the reader sent the finished file to its end
    generation: int = 0  # bumped by each restart from zero
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.changed.set()


class _SpoolPart:
    """The writing side of a slot (a ``PartFile``)."""

    def __init__(self, slot: _Slot) -> None:
        self._slot = slot
        # O_APPEND: after a restart truncates the file, writes must start again at offset 0.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        self._fd: int | None = os.open(slot.path, flags, 0o600)
        slot.size, slot.head = 0, b""

    @property
    def size(self) -> int:
        return self._slot.size

    @property
    def head(self) -> bytes:
        return self._slot.head

    async def write(self, pieces: Sequence[bytes]) -> None:
        assert self._fd is not None
        loop = asyncio.get_running_loop()
        written = await loop.run_in_executor(_DISK_THREADS, _write_all, self._fd, list(pieces))
        slot = self._slot
        if len(slot.head) < HEAD_BYTES:
            slot.head = (slot.head + b"".join(pieces))[:HEAD_BYTES]
        slot.size += written
        slot.touch()

    async def restart(self) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        self._slot.size, self._slot.head = 0, b""
        self._slot.generation += 1
        self._slot.touch()

    async def commit(self, ext: str) -> SavedFile:
        self._close()
        self._slot.done = True
        self._slot.touch()
        return SavedFile(self._slot.name or f"{self._slot.path.stem}.{ext}", self._slot.size)

    def discard(self) -> None:
        self._close()
        self._slot.failed = True
        self._slot.touch()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class SpoolSink:
    """A ``Sink`` whose files are read while they are written, then deleted; see the module docstring."""

    def __init__(self, folder: Path, *, lookahead: int, names: Sequence[str] = ()) -> None:
        self.folder = folder
        self._lookahead = max(1, lookahead)
        self._names = list(names)
        self._slots: list[_Slot] = []
        self._released = 0  # entries the reader finished with, in order
        self.read_failures: dict[int, str] = {}  # position -> why the reader gave up on a downloaded file
        self._window = asyncio.Condition()

    async def prepare(self, tracks: Sequence[Track]) -> None:
        """Create the spool; idempotent, because readers may hold slots before the downloads start."""
        if len(self._slots) == len(tracks):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._slots = [
            _Slot(self.folder / f"{pos:05d}.part", name=self._names[pos] if pos < len(self._names) else "")
            for pos in range(len(tracks))
        ]

    def completed(self, position: int) -> SavedFile | None:
        return None

    async def open(self, position: int) -> PartFile:
        async with self._window:
            await self._window.wait_for(lambda: position < self._released + self._lookahead)
        try:
            return _SpoolPart(self._slots[position])
        except OSError as exc:
            raise DownloadError(f"cannot create a temporary file: {exc.strerror}") from exc

    def fail(self, position: int, message: str) -> None:
        """Record why a track failed (the reader raises it) and wake the reader."""
        slot = self._slots[position]
        slot.error, slot.failed = message, True
        slot.touch()

    def fail_all(self, message: str) -> None:
        """Mark every unfinished track failed (the download task itself ended abnormally)."""
        for position, slot in enumerate(self._slots):
            if not slot.done and not slot.failed:
                self.fail(position, message)

    async def read(
        self, position: int, prefix: bytes = b"", sums: _Sums | None = None
    ) -> AsyncGenerator[bytes, None]:
        """``prefix`` then the track's bytes as they arrive; raises ``DownloadError`` if its download fails.

        The prefix leaves with the first chunk, so a track failing before its first byte sends nothing.
        ``sums.crc32`` follows the CRC-32 of everything yielded: the ZIP writer uses it instead of
        summing the bytes a second time.
        """
        slot = self._slots[position]
        fd: int | None = None
        seed = zlib.crc32(prefix)
        offset, sent_crc, generation = 0, seed, slot.generation
        loop = asyncio.get_running_loop()
        try:
            while True:
                slot.changed.clear()
                if slot.failed:
                    raise DownloadError(slot.error or "the download failed")
                if slot.generation != generation:  # restarted from zero after we sent ``offset`` bytes
                    if slot.size < offset and not slot.done:
                        await slot.changed.wait()
                        continue
                    seen = slot.generation
                    crc: int | None = sent_crc
                    if fd is not None and slot.size >= offset:
                        crc = await loop.run_in_executor(_DISK_THREADS, _prefix_crc, fd, offset, seed)
                    if slot.generation != seen:  # restarted again meanwhile: check the newest file
                        continue
                    if slot.size < offset or crc != sent_crc:
                        raise self._changed(position)
                    generation = seen
                elif slot.size > offset:
                    if fd is None:
                        fd = os.open(slot.path, os.O_RDONLY)
                    count = min(READ_SIZE, slot.size - offset)
                    chunk, crc_after = await loop.run_in_executor(
                        _DISK_THREADS, _read_summed, fd, count, offset, sent_crc
                    )
                    if not chunk or slot.generation != generation:  # restarted under us: check first
                        continue
                    offset += len(chunk)
                    sent_crc = crc_after
                    if sums is not None:
                        sums.crc32 = sent_crc
                    if prefix:
                        yield prefix
                        prefix = b""
                    yield chunk
                elif slot.done:
                    if prefix:  # an empty file: the prefix is all there is
                        if sums is not None:
                            sums.crc32 = sent_crc
                        yield prefix
                    slot.delivered = True
                    return
                else:
                    await slot.changed.wait()
        finally:
            if fd is not None:
                os.close(fd)
            await self._release(position)

    def _changed(self, position: int) -> DownloadError:
        message = "the file changed while it was downloading (the server restarted it with other bytes)"
        self.read_failures[position] = message
        return DownloadError(message)

    async def _release(self, position: int) -> None:
        # Deleting a large file takes tens of milliseconds: never on the event loop, and nobody waits for it.
        asyncio.get_running_loop().run_in_executor(_DISK_THREADS, _unlink_quietly, self._slots[position].path)
        async with self._window:
            self._released = max(self._released, position + 1)
            self._window.notify_all()

    def delivered(self, position: int) -> bool:
        """True once the reader sent the track's finished file to its end."""
        return self._slots[position].delivered if position < len(self._slots) else False

    @property
    def all_released(self) -> bool:
        """True once the reader finished with every track."""
        return self._released >= len(self._slots)

    def remove(self) -> None:
        """Delete the spool folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_summed(fd: int, count: int, offset: int, crc: int) -> tuple[bytes, int]:
    """Up to ``count`` bytes at ``offset`` and the CRC-32 continued over them: in a disk thread, where
    zlib sums without the GIL, so the event loop spends no time on it."""
    chunk = os.pread(fd, count, offset)
    return chunk, zlib.crc32(chunk, crc)


def _prefix_crc(fd: int, length: int, seed: int = 0) -> int | None:
    """CRC-32 of the file's first ``length`` bytes, continuing ``seed``; None when it holds fewer."""
    crc, offset = seed, 0
    while offset < length:
        piece = os.pread(fd, min(READ_SIZE, length - offset), offset)
        if not piece:
            return None
        crc = zlib.crc32(piece, crc)
        offset += len(piece)
    return crc


@dataclass(slots=True)
class _Sums:
    crc32: int = 0


class _Entry:
    """A track's entry data for the ZIP writer (``zipstream.CheckedChunks``): the spool reader sums the
    bytes it sends anyway (to check restarted downloads), so the writer takes its CRC-32 from here."""

    def __init__(self, sink: SpoolSink, position: int, prefix: bytes) -> None:
        self._sums = _Sums()
        self._chunks = sink.read(position, prefix, self._sums)

    @property
    def crc32(self) -> int:
        return self._sums.crc32

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        return self._chunks

    async def aclose(self) -> None:
        await self._chunks.aclose()


def _url_ext(track: Track) -> str:
    found = guess(b"", track.mime, track.url)
    return found.ext if found is not None else "bin"


def entry_names(tracks: Sequence[Track], probes: Sequence[Probe]) -> list[str]:
    """The names ``ZipDownload`` gives the tracks' entries (``NN - Title.ext``), in order."""
    total = len(tracks)
    return [
        track_filename(track.index or pos + 1, total, track.title, probe.ext or _url_ext(track))
        for pos, (track, probe) in enumerate(zip(tracks, probes, strict=True))
    ]


class ZipDownload:
    """A ZIP of ``tracks`` streamed in page order while they download in parallel.

    ``probes`` (one per track, from ``probe_tracks``) give entry extensions and sizes: when every size is
    known, ``length`` is the archive's exact size and any later mismatch aborts the stream (``ZipError``).
    ``prefixes`` (empty, or one per track) are sent before each track's data and counted in its size;
    ``extra_entries`` follow the tracks. Iterate ``chunks()`` once; always ``await close()`` (it cancels
    downloads and removes the spool). Raises ValueError when the per-track lists do not match ``tracks``.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        tracks: Sequence[Track],
        probes: Sequence[Probe],
        *,
        spool: Path,
        settings: Settings,
        workers: int,
        referer: str | None = None,
        on_event: OnEvent | None = None,
        prefixes: Sequence[bytes] = (),
        extra_entries: Sequence[ZipEntry] = (),
    ) -> None:
        if len(probes) != len(tracks):
            raise ValueError("one probe per track is needed")
        if prefixes and len(prefixes) != len(tracks):
            raise ValueError("give one prefix per track, or none")
        heads = list(prefixes) or [b""] * len(tracks)
        self._fetcher, self._tracks, self._settings = fetcher, list(tracks), settings
        self._workers, self._referer, self._on_event = workers, referer, on_event
        self._positions = {track.index or pos + 1: pos for pos, track in enumerate(self._tracks)}
        names = entry_names(self._tracks, probes)
        self._sink = SpoolSink(spool, lookahead=2 * max(1, workers), names=names)
        self.entries = [
            ZipEntry(
                name,
                _Entry(self._sink, pos, head),
                size=None if probe.size is None else len(head) + probe.size,
            )
            for pos, (name, probe, head) in enumerate(zip(names, probes, heads, strict=True))
        ]
        self.entries += extra_entries
        self.length = zip_length(self.entries)
        self._report: DownloadReport | None = None
        self._task: asyncio.Task[DownloadReport] | None = None

    entry_names = staticmethod(entry_names)
    """The names the tracks' entries get, for callers that build ``extra_entries`` beforehand."""

    def _relay(self, event: ProgressEvent) -> None:
        if isinstance(event, TrackProgress) and event.status == "failed":
            self._sink.fail(self._positions[event.index], event.error or "the download failed")
        if self._on_event is not None:
            self._on_event(event)

    async def _download(self) -> DownloadReport:
        try:
            self._report = await download_all(
                self._fetcher, self._tracks, self._sink, workers=self._workers, settings=self._settings,
                referer=self._referer, on_event=self._relay,
            )  # fmt: skip
            return self._report
        except BaseException as exc:
            message = exc.user_message if isinstance(exc, DownloadError) else "the download was stopped"
            self._sink.fail_all(message)
            raise

    @property
    def report(self) -> DownloadReport | None:
        """How the downloads ended (None while running); a file the reader rejected counts as failed."""
        report, rejected = self._report, self._sink.read_failures
        if report is None or not rejected:
            return report
        results = tuple(
            replace(result, status="failed", error=rejected[pos], filename=None, size=0)
            if pos in rejected
            else result
            for pos, result in enumerate(report.results)
        )
        return DownloadReport(results, report.elapsed)

    async def start(self) -> None:
        """Start the downloads (idempotent). ``entries`` may then go to ``zip_stream`` or ``send_zip``."""
        if self._task is None:
            await self._sink.prepare(self._tracks)
            self._task = asyncio.create_task(self._download(), name="zip-download")

    def delivered(self, position: int) -> bool:
        """True once track ``position`` (0-based) was read into the archive whole."""
        return self._sink.delivered(position)

    @property
    def finished(self) -> bool:
        """True once every download ended and every entry was read to its end."""
        return self._task is not None and self._task.done() and self._sink.all_released

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The archive's bytes; starts the downloads on first use (``aclose()`` it when stopping early)."""
        await self.start()
        assert self._task is not None
        async with contextlib.aclosing(zip_stream(self.entries)) as stream:
            async for chunk in stream:
                yield chunk
        await self._task

    async def close(self) -> None:
        """Stop the downloads (if still running) and delete the spool folder."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task
        for entry in self.entries:  # readers never started still hold a generator: close them
            data = entry.data
            if hasattr(data, "aclose"):
                await data.aclose()
        await asyncio.to_thread(self._sink.remove)
