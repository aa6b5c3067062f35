"""``download_all``: N workers over a bounded queue, one result per track, a report for the job.

A failed track never fails the job; the job is ``failed`` only when tracks were asked for and none
arrived. Cancelling the calling task cancels every worker, and each removes its ``.part`` file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from audiofetch.config import Settings, setting_range
from audiofetch.errors import AudioFetchError, DownloadError
from audiofetch.models import Track
from audiofetch.net import Fetcher

from ._hls import fetch_hls, is_hls
from ._progress import OnEvent, ProgressBoard
from ._sinks import PartFile, SavedFile, Sink
from ._track import JobBudget, RetryPolicy, Transfer, fetch_track

__all__ = ["MAX_WORKERS", "DownloadReport", "TrackResult", "download_all"]

log = logging.getLogger(__name__)

MAX_WORKERS = setting_range("workers").high
ResultStatus = Literal["done", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class TrackResult:
    """How one track ended: ``done`` (downloaded), ``skipped`` (already in the sink) or ``failed``."""

    index: int
    url: str
    title: str | None
    status: ResultStatus
    filename: str | None = None
    size: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file is in the sink, downloaded now or earlier."""
        return self.status != "failed"

    def line(self) -> str:
        """One line for a person: ``03 - Title.mp3 (4.2 MiB)`` or ``track 3 failed: <reason>``."""
        if self.status == "failed":
            where = "" if self.error and self.url in self.error else f" ({self.url})"
            return f"track {self.index} failed: {self.error}{where}"
        note = ", already there" if self.status == "skipped" else ""
        return f"{self.filename} ({self.size / 1024 / 1024:.1f} MiB{note})"


@dataclass(frozen=True, slots=True)
class DownloadReport:
    """The outcome of ``download_all``: per-track results in track order, and the wall time in seconds."""

    results: tuple[TrackResult, ...]
    elapsed: float

    @property
    def succeeded(self) -> tuple[TrackResult, ...]:
        return tuple(r for r in self.results if r.ok)

    @property
    def failed(self) -> tuple[TrackResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def bytes_done(self) -> int:
        return sum(r.size for r in self.results if r.status == "done")

    @property
    def status(self) -> Literal["completed", "failed"]:
        """``failed`` only when there were tracks and none of them is in the sink."""
        return "failed" if self.results and not self.succeeded else "completed"


FLOOR_CHECK_BYTES = 8 * 1024 * 1024
"""The free space is looked up again after the job wrote this many bytes (statvfs per batch cost time)."""


class _DiskFloor:
    """Refuses to write when the disk holding ``folder`` has less than ``minimum`` bytes free.

    ``check()`` always looks; ``written(count)`` looks once per ``FLOOR_CHECK_BYTES`` the job wrote, so
    a job may pass the floor by at most that much plus the batches in flight.
    """

    def __init__(self, folder: Path, minimum: int) -> None:
        self.folder, self.minimum = folder, minimum
        self._unchecked = 0

    def written(self, count: int) -> None:
        self._unchecked += count
        if self._unchecked >= FLOOR_CHECK_BYTES:
            self.check()

    def check(self) -> None:
        self._unchecked = 0
        try:
            free = shutil.disk_usage(self.folder).free
        except OSError:
            return  # the folder does not exist yet: the sink reports that problem itself
        if free < self.minimum:
            raise DownloadError(
                f"only {free / 1024**2:.0f} MiB free on the disk, below the floor of "
                f"{self.minimum / 1024**2:.0f} MiB (AUDIOFETCH_MIN_FREE_BYTES); files already saved are kept"
            )


class _FloorGuard:
    """A ``PartFile`` that counts each write batch against the free-space floor before writing it."""

    def __init__(self, part: PartFile, floor: _DiskFloor) -> None:
        self._part, self._floor = part, floor

    @property
    def size(self) -> int:
        return self._part.size

    @property
    def head(self) -> bytes:
        return self._part.head

    async def write(self, pieces: Sequence[bytes]) -> None:
        self._floor.written(sum(map(len, pieces)))
        try:
            await self._part.write(pieces)
        except OSError as exc:
            raise _disk_error(exc) from exc

    async def restart(self) -> None:
        try:
            await self._part.restart()
        except OSError as exc:
            raise _disk_error(exc) from exc

    async def commit(self, ext: str) -> SavedFile:
        try:
            return await self._part.commit(ext)
        except OSError as exc:
            raise _disk_error(exc) from exc

    def discard(self) -> None:
        self._part.discard()


def _disk_error(exc: OSError) -> DownloadError:
    """The track's own failure for a disk that refuses a write (full, quota, read-only, I/O error)."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"the disk is full ({reason}); the partial file was removed")
    return DownloadError(f"the file could not be written ({reason}); the partial file was removed")


async def download_all(
    fetcher: Fetcher,
    tracks: Sequence[Track],
    sink: Sink,
    *,
    workers: int,
    settings: Settings,
    referer: str | None = None,
    on_event: OnEvent | None = None,
    retry_policy: RetryPolicy | None = None,
) -> DownloadReport:
    """Download ``tracks`` into ``sink`` with ``workers`` parallel transfers (clamped to the setting's range).

    Tracks the sink already holds complete are skipped; partial ones resume. Raises only for problems
    with the sink itself (``DownloadError``) or cancellation; every track's own failure is in the report.
    """
    started = time.monotonic()
    policy = retry_policy or RetryPolicy(retries=settings.retries)
    indexes = [track.index or pos + 1 for pos, track in enumerate(tracks)]
    board = ProgressBoard(indexes, on_event)
    budget = JobBudget(settings.max_job_bytes)
    floor = _DiskFloor(sink.folder, settings.min_free_bytes)
    await sink.prepare(tracks)
    results: list[TrackResult | None] = [None] * len(tracks)
    count = max(1, min(MAX_WORKERS, workers, len(tracks) or 1))
    queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=count)

    async def feed() -> None:
        for pos in range(len(tracks)):
            await queue.put(pos)
        for _ in range(count):
            await queue.put(None)

    async def work() -> None:
        while (pos := await queue.get()) is not None:
            results[pos] = await _one(pos)

    async def _one(pos: int) -> TrackResult:
        track, index = tracks[pos], indexes[pos]
        existing = sink.completed(pos)
        if existing is not None:
            board.finished(pos, "skipped", size=existing.size, filename=existing.name)
            return TrackResult(index, track.url, track.title, "skipped", existing.name, existing.size)
        try:
            floor.check()
            part = _FloorGuard(await sink.open(pos), floor)
            try:
                fetch = fetch_hls if is_hls(track) else fetch_track  # HLS: playlist + segments, joined
                transfer = Transfer(fetcher, track, pos, part, settings, policy, budget, board, referer)
                async with asyncio.timeout(settings.file_deadline):  # every attempt and wait
                    saved = await fetch(transfer)
            except BaseException as exc:
                part.discard()
                if isinstance(exc, TimeoutError):
                    limit = f"{settings.file_deadline:g} s"
                    raise DownloadError(
                        f"took longer than the per-file limit of {limit}", url=track.url
                    ) from exc
                raise
        except AudioFetchError as exc:
            board.finished(pos, "failed", error=exc.user_message)
            return TrackResult(index, track.url, track.title, "failed", error=exc.user_message)
        except Exception:
            log.exception("unexpected error downloading track %d", index)
            message = "an unexpected error happened (see the log)"
            board.finished(pos, "failed", error=message)
            return TrackResult(index, track.url, track.title, "failed", error=message)
        board.finished(pos, "done", size=saved.size, filename=saved.name)
        return TrackResult(index, track.url, track.title, "done", saved.name, saved.size)

    async with asyncio.TaskGroup() as group:
        group.create_task(feed())
        for _ in range(count):
            group.create_task(work())
    board.job_finished()
    done = tuple(r for r in results if r is not None)
    return DownloadReport(done, time.monotonic() - started)
