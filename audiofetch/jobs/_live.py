"""What the runner holds in memory for a job: one record while it runs, a little once it has ended.

``LiveJob`` is created by ``JobRunner._launch`` and dropped by ``JobRunner._finish``, the one place
each, so nothing of a run (its task, stream, cookies, probes) outlives it. ``Memory`` keeps, for the
last ``size`` jobs, what the page said (tags for a retry of failed tracks) and why the analysis failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from audiofetch.download import Probe
from audiofetch.errors import AudioFetchError
from audiofetch.models import Detection, Track
from audiofetch.net import Fetcher

from ._browser import BrowserStream
from ._finish import PageTags
from ._pipeline import FolderDownload

__all__ = ["LiveJob", "Memory", "ReadyZip", "Remembered", "without_traceback"]


@dataclass(frozen=True, slots=True)
class ReadyZip:
    """A browser-mode job between analysis and stream: the tracks that can be had, their probes, tags."""

    tracks: list[Track]
    probes: list[Probe]
    page: PageTags


@dataclass(eq=False, slots=True)
class LiveJob:
    """One job the runner runs now (see the module docstring for its lifetime)."""

    id: str
    address: str | None = None  # the network address that started this run, counted against its limit
    analysed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    fetcher: Fetcher | None = None  # with the rendered page's cookies: this run's requests only
    ready: ReadyZip | None = None
    stream: BrowserStream | None = None
    folder: FolderDownload | None = None
    cancelling: bool = False


@dataclass(frozen=True, slots=True)
class Remembered:
    """What is kept of a job after its analysis: the page's details and the Name given, or the failure."""

    detection: Detection | None = None
    name: str | None = None
    failure: AudioFetchError | None = None


class Memory:
    """``Remembered`` for the last ``size`` jobs, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[str, Remembered] = {}

    def __getitem__(self, job_id: str) -> Remembered:
        return self._items.get(job_id) or Remembered()

    def keep(self, job_id: str, item: Remembered) -> None:
        self._items.pop(job_id, None)
        self._items[job_id] = item
        while len(self._items) > self._size:
            del self._items[next(iter(self._items))]

    def forget(self, job_id: str) -> None:
        self._items.pop(job_id, None)


def without_traceback(exc: AudioFetchError) -> AudioFetchError:
    """A copy of ``exc`` with its message and fields but no traceback, cause or context: those hold
    the frames of the analysis, and so the page and its parsed tree, for as long as the job is kept."""
    clone = type(exc).__new__(type(exc), *exc.args)
    clone.args = exc.args
    clone.__dict__.update(exc.__dict__)
    return clone
