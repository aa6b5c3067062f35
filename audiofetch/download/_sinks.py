"""Where downloaded tracks go: the ``Sink`` interface and ``DirectorySink`` (``NAME.part`` then rename).

A sink names files, so it is told the whole track list first (numbering needs the total). It also says
what an earlier run left behind: complete files (skipped) and ``.part`` files (resumed with Range), so a
job restarted after a crash picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from audiofetch.errors import DownloadError
from audiofetch.models import Track
from audiofetch.naming import UniqueNames, split_extension, track_filename

__all__ = ["DirectorySink", "PartFile", "SavedFile", "Sink"]

PART_SUFFIX = ".part"
HEAD_BYTES = 4096
_IOV_MAX = 1024
# Disk writes get their own threads: a slow disk then never delays DNS lookups in the loop's default pool.
_DISK_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="audiofetch-disk")


@dataclass(frozen=True, slots=True)
class SavedFile:
    """A finished file in a sink: its name there and its size in bytes."""

    name: str
    size: int


class PartFile(Protocol):
    """One track being written; ``size`` grows with each write, ``head`` keeps the first bytes."""

    @property
    def size(self) -> int: ...

    @property
    def head(self) -> bytes: ...

    async def write(self, pieces: Sequence[bytes]) -> None:
        """Append ``pieces`` in order (one call, so a disk write can take them all at once)."""

    async def restart(self) -> None:
        """Drop everything written so far (the server would not resume)."""

    async def commit(self, ext: str) -> SavedFile:
        """Finish under the final name with extension ``ext`` (no dot)."""

    def discard(self) -> None:
        """Remove the partial data. Synchronous so that it also runs inside a cancelled task."""


class Sink(Protocol):
    """Destination of a job's tracks; positions are 0-based indexes into the list given to ``prepare``.

    ``folder`` is where its files go (the free-space floor is checked there).
    """

    folder: Path

    async def prepare(self, tracks: Sequence[Track]) -> None:
        """Get ready for these tracks (create folders, fix names); called once, before anything else."""

    def completed(self, position: int) -> SavedFile | None:
        """The finished file an earlier run left for this track, if any."""

    async def open(self, position: int) -> PartFile:
        """Open the track's partial file, keeping what an earlier attempt or run wrote."""


class _DiskPart:
    """A ``NAME.part`` file; writes run in a thread so the event loop never waits on the disk.

    The descriptor is closed only once no write is in flight, so a cancelled job can never let a queued
    write land in a file that reused the descriptor number.
    """

    def __init__(
        self, folder: Path, part_name: str, final_stem: str, names: UniqueNames, keep: Callable[[], bool]
    ) -> None:
        self._keep = keep
        self._path = folder / part_name
        self._folder = folder
        self._final_stem = final_stem
        self._names = names
        self._file = open(self._path, "ab", buffering=0)  # noqa: SIM115 - closed by commit/discard
        self._size = self._file.seek(0, os.SEEK_END)
        self._head = b""
        self._inflight: Future[int] | None = None
        if self._size:
            with open(self._path, "rb") as existing:
                self._head = existing.read(HEAD_BYTES)

    @property
    def size(self) -> int:
        return self._size

    @property
    def head(self) -> bytes:
        return self._head

    async def write(self, pieces: Sequence[bytes]) -> None:
        for piece in pieces:
            if len(self._head) >= HEAD_BYTES:
                break
            self._head += piece[: HEAD_BYTES - len(self._head)]
        self._size += await self._in_thread(_write_all, self._file.fileno(), tuple(pieces))

    async def restart(self) -> None:
        await self._in_thread(self._file.truncate, 0)
        self._size = 0
        self._head = b""

    async def _in_thread(self, function: Callable[..., int], *args: object) -> int:
        self._inflight = _DISK_THREADS.submit(function, *args)
        return await asyncio.wrap_future(self._inflight)

    async def commit(self, ext: str) -> SavedFile:
        self._file.close()
        name = self._names.claim(f"{self._final_stem}.{ext}")
        os.replace(self._path, self._folder / name)
        return SavedFile(name, self._size)

    def discard(self) -> None:
        if not self._keep():
            try:
                self._path.unlink()
            except FileNotFoundError:
                pass
        if self._inflight is not None and not self._inflight.done():
            self._inflight.add_done_callback(lambda _: self._file.close())
        else:
            self._file.close()


def _write_all(fd: int, pieces: Sequence[bytes]) -> int:
    """``os.writev`` until every byte is written (no joining copy); returns the byte count."""
    views = [memoryview(piece) for piece in pieces]
    written = 0
    while views:
        count = os.writev(fd, views[:_IOV_MAX])
        written += count
        while views and count >= len(views[0]):
            count -= len(views[0])
            views.pop(0)
        if count:
            views[0] = views[0][count:]
    return written


class DirectorySink:
    """Writes each track to ``folder/NN - Title.part`` and renames it ``NN - Title.ext`` when complete.

    Existing files are never overwritten: final names are made unique against what the folder holds,
    except that a file named like a track (any extension) counts as that track already downloaded.
    ``keep_partial`` set before cancelling (a server shutting down) keeps ``.part`` files for a resume.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.keep_partial = False
        self._stems: list[str] = []
        self._existing: dict[str, SavedFile] = {}
        self._names = UniqueNames()

    async def prepare(self, tracks: Sequence[Track]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            raise DownloadError(f"cannot write to the folder {self.folder}: {exc.strerror}") from exc
        total = len(tracks)
        self._stems = [
            split_extension(track_filename(track.index or pos + 1, total, track.title, "part"))[0]
            for pos, track in enumerate(tracks)
        ]
        for entry in entries:
            self._names.claim(entry.name)
            stem, ext = split_extension(entry.name)
            if ext and ext != PART_SUFFIX and entry.is_file():
                self._existing.setdefault(stem.casefold(), SavedFile(entry.name, entry.stat().st_size))

    def completed(self, position: int) -> SavedFile | None:
        return self._existing.get(self._stems[position].casefold())

    def partial_size(self, position: int) -> int:
        """Bytes an earlier run left in the track's ``.part`` file (0 if none): where a resume starts."""
        try:
            return (self.folder / (self._stems[position] + PART_SUFFIX)).stat().st_size
        except FileNotFoundError:
            return 0

    async def open(self, position: int) -> PartFile:
        stem = self._stems[position]
        try:
            return _DiskPart(self.folder, stem + PART_SUFFIX, stem, self._names, lambda: self.keep_partial)
        except OSError as exc:
            raise DownloadError(f"cannot create {stem}{PART_SUFFIX}: {exc.strerror}") from exc
