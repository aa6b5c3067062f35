"""Where downloaded tracks go: the ``Sink`` interface and ``DirectorySink`` (``NAME.part`` then rename).

A sink names files, so it is told the whole track list first (numbering needs the total). It also says
what an earlier run left behind: complete files (skipped) and ``.part`` files (resumed with Range), so a
job restarted after a crash picks up where it stopped.

A ``DirectorySink`` may be given a ``HeadFn``: before the first write of a fresh download it sees the
first bytes and may put other bytes in place of the first ``cut`` (an MP3's tag written while it
downloads, so the file is written once). Such a file is kept as ``NAME.head<written>-<cut>.part`` until
it is complete, so a later run knows how its bytes map onto the server's and resumes at the right offset.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from audiofetch.errors import DownloadError
from audiofetch.models import Track
from audiofetch.naming import UniqueNames, split_extension, track_filename

__all__ = ["DirectorySink", "HeadFn", "PartFile", "SavedFile", "Sink"]

HeadFn = Callable[[int, bytes], Awaitable[tuple[bytes, int]]]
"""Given a track's position and the first bytes it received, ``(data, cut)``: write ``data`` in place of
the first ``cut`` of those bytes (``(b"", 0)`` keeps the file as sent; ``cut`` is at most their length)."""

PART_SUFFIX = ".part"
_EDITED_PART = re.compile(r"(?P<stem>.*)\.head(?P<written>\d+)-(?P<cut>\d+)\.part", re.DOTALL)
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
    write land in a file that reused the descriptor number. ``size`` counts the server's bytes: a file
    whose head was edited (see the module docstring) holds ``written - cut`` bytes more.
    """

    def __init__(
        self,
        folder: Path,
        part_name: str,
        final_stem: str,
        names: UniqueNames,
        keep: Callable[[], bool],
        *,
        edit_head: Callable[[bytes], Awaitable[tuple[bytes, int]]] | None = None,
        edited: tuple[int, int] = (0, 0),
    ) -> None:
        self._keep = keep
        self._path = folder / part_name
        self._folder = folder
        self._final_stem = final_stem
        self._names = names
        self._file = open(self._path, "ab", buffering=0)  # noqa: SIM115 - closed by commit/discard
        self._extra = edited[0] - edited[1]
        end = self._file.seek(0, os.SEEK_END)
        if end < edited[0]:  # the edited head itself was cut short: start over
            self._file.truncate(0)
            end = self._extra = 0
            self._rename_plain()
        self._size = end - self._extra
        self._head = b""
        self._inflight: Future[int] | None = None
        self._edit_head = edit_head
        self._pending_edit = edit_head if self._size == 0 else None
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
        count = sum(map(len, pieces))
        for piece in pieces:
            if len(self._head) >= HEAD_BYTES:
                break
            self._head += piece[: HEAD_BYTES - len(self._head)]
        if self._pending_edit is not None:
            pieces = await self._edited(self._pending_edit, pieces)
        await self._in_thread(_write_all, self._file.fileno(), tuple(pieces))
        self._size += count

    async def _edited(
        self, edit: Callable[[bytes], Awaitable[tuple[bytes, int]]], pieces: Sequence[bytes]
    ) -> Sequence[bytes]:
        """The first pieces of a fresh download with their head edited; the part is renamed to say so."""
        self._pending_edit = None
        first = b"".join(pieces)
        data, cut = await edit(first)
        if not data and not cut:
            return pieces
        cut = min(max(cut, 0), len(first))
        edited_path = self._folder / f"{self._final_stem}.head{len(data)}-{cut}{PART_SUFFIX}"
        os.replace(self._path, edited_path)
        self._path, self._extra = edited_path, len(data) - cut
        return (data, first[cut:])

    async def restart(self) -> None:
        await self._in_thread(self._file.truncate, 0)
        self._size = 0
        self._head = b""
        self._extra = 0
        self._rename_plain()
        self._pending_edit = self._edit_head

    def _rename_plain(self) -> None:
        """Back to ``NAME.part`` (an emptied file has no edited head)."""
        plain = self._folder / f"{self._final_stem}{PART_SUFFIX}"
        if self._path != plain:
            os.replace(self._path, plain)
            self._path = plain

    async def _in_thread(self, function: Callable[..., int], *args: object) -> int:
        self._inflight = _DISK_THREADS.submit(function, *args)
        return await asyncio.wrap_future(self._inflight)

    async def commit(self, ext: str) -> SavedFile:
        self._file.close()
        name = self._names.claim(f"{self._final_stem}.{ext}")
        os.replace(self._path, self._folder / name)
        return SavedFile(name, self._size + self._extra)

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
    ``edit_head`` may replace the head of each fresh download (see the module docstring).
    """

    def __init__(self, folder: str | os.PathLike[str], *, edit_head: HeadFn | None = None) -> None:
        self.folder = Path(folder)
        self.keep_partial = False
        self._edit_head = edit_head
        self._stems: list[str] = []
        self._existing: dict[str, SavedFile] = {}
        self._edited: dict[str, tuple[str, int, int]] = {}  # stem (casefolded) -> part name, written, cut
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
            edited = _EDITED_PART.fullmatch(entry.name)
            if edited and entry.is_file():
                key = edited["stem"].casefold()
                self._edited[key] = (entry.name, int(edited["written"]), int(edited["cut"]))

    def completed(self, position: int) -> SavedFile | None:
        return self._existing.get(self._stems[position].casefold())

    def _part_of(self, position: int) -> tuple[str, tuple[int, int]]:
        """The part file a track resumes from: an edited one an earlier run left, else ``NAME.part``."""
        stem = self._stems[position]
        edited = self._edited.get(stem.casefold())
        if edited is not None and (self.folder / edited[0]).is_file():
            return edited[0], (edited[1], edited[2])
        return stem + PART_SUFFIX, (0, 0)

    def partial_size(self, position: int) -> int:
        """Bytes an earlier run left in the track's ``.part`` file (0 if none): where a resume starts."""
        name, (written, cut) = self._part_of(position)
        try:
            return max(0, (self.folder / name).stat().st_size - written + cut)
        except FileNotFoundError:
            return 0

    async def open(self, position: int) -> PartFile:
        stem = self._stems[position]
        name, edited = self._part_of(position)
        edit = self._edit_head
        try:
            return _DiskPart(
                self.folder, name, stem, self._names, lambda: self.keep_partial,
                edit_head=None if edit is None else (lambda head: edit(position, head)), edited=edited,
            )  # fmt: skip
        except OSError as exc:
            raise DownloadError(f"cannot create {name}: {exc.strerror}") from exc
