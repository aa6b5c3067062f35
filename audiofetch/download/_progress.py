"""Progress events and the board that produces them: one callback, throttled byte updates.

Every state change of a track (start, retry, finish, failure, skip) is sent at once, followed by a job
summary; byte counts in between are sent at most ``BYTE_EVENTS_PER_SECOND`` times per track, so a
WebSocket or SSE fan-out never floods. Speeds are averaged over the last few seconds.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BYTE_EVENTS_PER_SECOND", "JobProgress", "OnEvent", "ProgressEvent", "TrackProgress", "TrackState"]

log = logging.getLogger(__name__)

TrackState = Literal["pending", "downloading", "done", "failed", "skipped"]
BYTE_EVENTS_PER_SECOND = 5
_SPEED_WINDOW = 3.0


@dataclass(frozen=True, slots=True)
class TrackProgress:
    """Where one track stands. ``index`` is the track's 1-based number; sizes in bytes, speed in B/s.

    ``attempt`` counts retries so far; while a retry waits, ``error`` says what went wrong.
    """

    index: int
    status: TrackState
    bytes_done: int
    total: int | None
    speed: float
    error: str | None = None
    filename: str | None = None
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where the whole job stands. ``bytes_total`` is known once every unfinished track announced its size;
    ``eta`` (seconds) needs it and a measurable speed. ``finished`` marks the last event of a job.
    """

    tracks_total: int
    tracks_done: int
    tracks_failed: int
    bytes_done: int
    bytes_total: int | None
    speed: float
    eta: float | None
    finished: bool = False


ProgressEvent = TrackProgress | JobProgress
OnEvent = Callable[[ProgressEvent], None]


class _Speed:
    """Bytes per second over the last few seconds, from (time, cumulative bytes) samples."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, cumulative: int) -> float:
        self._samples.append((now, cumulative))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _SPEED_WINDOW:
            self._samples.popleft()
        first_time, first_bytes = self._samples[0]
        elapsed = now - first_time
        return (cumulative - first_bytes) / elapsed if elapsed > 0 else 0.0


@dataclass(slots=True)
class _Track:
    index: int
    status: TrackState = "pending"
    done: int = 0
    total: int | None = None
    last_sent: float = float("-inf")
    attempt: int = 0


class ProgressBoard:
    """Collects what workers report and turns it into events for ``on_event`` (errors in it are logged)."""

    def __init__(
        self, indexes: list[int], on_event: OnEvent | None, clock: Callable[[], float] = time.monotonic
    ):
        self._tracks = [_Track(index) for index in indexes]
        self._on_event = on_event
        self._clock = clock
        self._speeds = [_Speed() for _ in indexes]
        self._job_speed = _Speed()
        self._received = 0
        self._last_job_sent = float("-inf")
        self._interval = 1.0 / BYTE_EVENTS_PER_SECOND

    def started(self, pos: int, done: int, total: int | None) -> None:
        track = self._tracks[pos]
        track.status, track.done, track.total = "downloading", done, total
        self._send_track(pos, force=True)

    def received(self, pos: int, count: int, done: int) -> None:
        """``count`` new bytes arrived; the file now holds ``done`` bytes."""
        self._received += count
        self._tracks[pos].done = done
        self._send_track(pos, force=False)

    def restarted(self, pos: int) -> None:
        self._tracks[pos].done = 0

    def retrying(self, pos: int, attempt: int, error: str) -> None:
        self._tracks[pos].attempt = attempt
        self._send_track(pos, force=True, error=error)

    def finished(self, pos: int, status: TrackState, *, size: int = 0, filename: str | None = None,
                 error: str | None = None) -> None:  # fmt: skip
        track = self._tracks[pos]
        track.status = status
        if status in ("done", "skipped"):
            track.done = track.total = size
        self._send_track(pos, force=True, error=error, filename=filename)

    def job_finished(self) -> None:
        self._send_job(final=True)

    def _send_track(
        self, pos: int, *, force: bool, error: str | None = None, filename: str | None = None
    ) -> None:
        now = self._clock()
        track = self._tracks[pos]
        if not force and now - track.last_sent < self._interval:
            return
        track.last_sent = now
        speed = self._speeds[pos].add(now, track.done) if track.status == "downloading" else 0.0
        self._emit(
            TrackProgress(
                track.index, track.status, track.done, track.total, speed, error, filename, track.attempt
            )
        )
        if force or now - self._last_job_sent >= self._interval:
            self._send_job(final=False)

    def _send_job(self, *, final: bool) -> None:
        now = self._clock()
        self._last_job_sent = now
        tracks = self._tracks
        finished = [t for t in tracks if t.status in ("done", "skipped", "failed")]
        open_tracks = [t for t in tracks if t.status not in ("done", "skipped", "failed")]
        bytes_done = sum(t.done for t in tracks if t.status != "failed")
        known = all(t.total is not None for t in open_tracks)
        bytes_total = sum(t.total or 0 for t in tracks if t.status != "failed") if known else None
        speed = 0.0 if final else self._job_speed.add(now, self._received)
        eta = None
        if bytes_total is not None and speed > 0:
            eta = max(0.0, (bytes_total - bytes_done) / speed)
        self._emit(
            JobProgress(
                tracks_total=len(tracks),
                tracks_done=sum(1 for t in finished if t.status != "failed"),
                tracks_failed=sum(1 for t in finished if t.status == "failed"),
                bytes_done=bytes_done,
                bytes_total=bytes_total,
                speed=speed,
                eta=0.0 if final else eta,
                finished=final,
            )
        )

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("a progress listener failed; downloads carry on")
