"""One server per data folder: an exclusive lock on ``<data>/audiofetch.lock`` while the server runs.

The embedded SQLite store, the spool and the ``.part`` files of resumed jobs belong to one process: a
second server on the same folder would resume the same jobs and delete the other's spool. It is refused
with one line naming the folder and the process holding it. The lock is ``flock``: the kernel drops it
when the process ends, however it ends, so a crash never leaves a stale lock behind. Opening the lock
file is also the first write to the folder, so a read-only folder is refused here, clearly, too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from audiofetch.errors import ConfigError

__all__ = ["LOCK_FILE", "DataFolderLock"]

LOCK_FILE = "audiofetch.lock"


class DataFolderLock:
    """Hold ``folder``'s lock from ``acquire`` until ``release`` (or the process ends)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; ``ConfigError`` when the folder is not writable or another server holds it."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"the data folder {self.folder} is not writable ({exc.strerror or exc}); AudioFetch keeps "
                "its job database, keys and downloads there: make it writable or set AUDIOFETCH_DATA_DIR"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (process {holder})" if holder else ""
            raise ConfigError(
                f"another AudioFetch server{who} is using the data folder {self.folder}; stop it first, "
                "or give this one its own AUDIOFETCH_DATA_DIR"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (idempotent); the file stays, empty of meaning until the next ``acquire``."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isascii() and text.isdigit():
            return text
    return ""
