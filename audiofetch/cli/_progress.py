"""Progress on the terminal: one redrawn line on a TTY, plain lines (one per finished track) otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from audiofetch.download import JobProgress, ProgressEvent, TrackProgress
from audiofetch.models import Detection

__all__ = ["ProgressView", "human_bytes"]

_REDRAW_EVERY = 0.1


def human_bytes(count: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    """``42 s``, ``3:05``, ``1:02:05``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressView:
    """The terminal view of the pipeline's run: ``on_detected`` and ``on_event`` are its callbacks."""

    def __init__(self, *, interactive: bool, stream: TextIO | None = None) -> None:
        self._interactive = interactive
        self._out = stream or sys.stderr
        self._last_draw = 0.0
        self._line_width = 0

    def on_detected(self, detection: Detection) -> None:
        """The streams the page has that cannot be downloaded, one line each."""
        for stream in detection.skipped:
            print(f"skipped {stream.url}: {stream.reason}", file=self._out)

    def on_event(self, event: ProgressEvent) -> None:
        if isinstance(event, TrackProgress):
            if event.status in ("done", "failed", "skipped"):
                self._track_line(event)
        elif self._interactive:
            now = time.monotonic()
            if event.finished or now - self._last_draw >= _REDRAW_EVERY:
                self._last_draw = now
                self._draw(event)

    def _track_line(self, event: TrackProgress) -> None:
        name = event.filename or f"track {event.index}"
        if event.status == "failed":
            text = f"failed {name}: {event.error or 'unknown error'}"
        elif event.status == "skipped":
            text = f"kept   {name} (already there)"
        else:
            text = f"ok     {name} ({human_bytes(event.bytes_done)})"
        self._clear()
        print(text, file=self._out, flush=True)

    def end_line(self) -> None:
        """End a bar drawn on the terminal, so what is printed next (``interrupted``) starts a line."""
        if self._interactive and self._line_width:
            self._out.write("\n")
            self._out.flush()
            self._line_width = 0

    def _draw(self, job: JobProgress) -> None:
        done = job.tracks_done + job.tracks_failed
        share = job.bytes_done / job.bytes_total if job.bytes_total else done / max(job.tracks_total, 1)
        share = min(share, 1.0)
        bar = "#" * int(share * 24)
        total = f" / {human_bytes(job.bytes_total)}" if job.bytes_total else ""
        eta = f"  ETA {_duration(job.eta)}" if job.eta is not None and not job.finished else ""
        line = (
            f"[{bar:<24}] {done}/{job.tracks_total} tracks  {human_bytes(job.bytes_done)}{total}"
            f"  {share:.0%}  {human_bytes(job.speed)}/s{eta}"
        )
        self._out.write("\r" + line.ljust(self._line_width))
        self._line_width = len(line)
        if job.finished:
            self._out.write("\n")
            self._line_width = 0
        self._out.flush()

    def _clear(self) -> None:
        if self._interactive and self._line_width:
            self._out.write("\r" + " " * self._line_width + "\r")
            self._line_width = 0
