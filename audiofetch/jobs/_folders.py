"""Server-mode downloads on disk: list the folders, delete one, read one as ZIP entries.

Every name from a request goes through ``resolve_folder``: one plain component, an existing directory
directly under the downloads root, not a symlink, so ``../x``, encoded traversal and planted links never
reach outside. Symlinks inside a folder are neither listed, zipped nor followed when deleting.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiofiles

from audiofetch.errors import BadRequestError, JobError, JobNotFound
from audiofetch.zipstream import ZipEntry

__all__ = ["DownloadFolder", "delete_download", "folder_entries", "list_downloads", "resolve_folder"]

READ_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DownloadFolder:
    """A folder of saved tracks: its name, total size in bytes, newest change (epoch s), file count."""

    name: str
    size: int
    modified: float
    files: int

    def to_json(self) -> dict[str, object]:
        """Keys: name, size, modified, files."""
        return {"name": self.name, "size": self.size, "modified": self.modified, "files": self.files}


def _regular_files(folder: Path) -> list[os.DirEntry[str]]:
    return sorted(
        (e for e in os.scandir(folder) if e.is_file(follow_symlinks=False) and not e.name.startswith(".")),
        key=lambda e: e.name,
    )


def _scan(root: Path) -> list[DownloadFolder]:
    if not root.is_dir():
        return []
    found: list[DownloadFolder] = []
    for entry in os.scandir(root):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        files = [f for f in _regular_files(Path(entry.path)) if not f.name.endswith(".part")]
        infos = [f.stat(follow_symlinks=False) for f in files]
        newest = max((i.st_mtime for i in infos), default=entry.stat(follow_symlinks=False).st_mtime)
        found.append(DownloadFolder(entry.name, sum(i.st_size for i in infos), newest, len(files)))
    return sorted(found, key=lambda f: f.modified, reverse=True)


async def list_downloads(root: Path) -> list[DownloadFolder]:
    """The folders under ``root``, newest first (scanned in a thread)."""
    return await asyncio.to_thread(_scan, root)


def resolve_folder(root: Path, name: str) -> Path:
    """The folder ``root/name``; BadRequestError for names that are not one plain component,
    JobNotFound when no such folder exists (symlinks count as missing)."""
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise BadRequestError(f"{name!r} is not a download folder name")
    path = root / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise JobNotFound(f"there is no download folder called {name!r}") from None
    if not stat.S_ISDIR(info.st_mode) or path.resolve().parent != root.resolve():
        raise JobNotFound(f"there is no download folder called {name!r}")
    return path


async def delete_download(root: Path, name: str) -> None:
    """Delete the folder and what it holds; links inside are removed, never followed."""
    path = resolve_folder(root, name)
    await asyncio.to_thread(shutil.rmtree, path)


def _open_no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


async def _read_file(path: Path, listed: os.stat_result) -> AsyncIterator[bytes]:
    """The file's bytes, if it is still the very file that was listed (same device and inode).

    Entries are listed before the ZIP starts and read while it streams; a file replaced meanwhile by
    a symlink (or its folder by a link to elsewhere) must not be read through the link.
    """
    changed = f"{path.name} changed on disk while the ZIP was being sent"
    try:
        handle = await aiofiles.open(path, "rb", opener=_open_no_follow)
    except OSError as exc:  # ELOOP: the name is a symlink now
        raise JobError(changed) from exc
    try:
        now = os.fstat(handle.fileno())
        if (now.st_dev, now.st_ino) != (listed.st_dev, listed.st_ino) or not stat.S_ISREG(now.st_mode):
            raise JobError(changed)
        while chunk := await handle.read(READ_SIZE):
            yield chunk
    finally:
        await handle.close()


def _entries(folder: Path) -> list[ZipEntry]:
    entries: list[ZipEntry] = []
    for item in _regular_files(folder):
        if item.name.endswith(".part"):
            continue
        info = item.stat(follow_symlinks=False)
        entries.append(
            ZipEntry(item.name, _read_file(Path(item.path), info), size=info.st_size, mtime=info.st_mtime)
        )
    return entries


async def folder_entries(root: Path, name: str) -> list[ZipEntry]:
    """ZIP entries (exact sizes, so the archive length is known) for the folder's finished files."""
    path = resolve_folder(root, name)
    return await asyncio.to_thread(_entries, path)
