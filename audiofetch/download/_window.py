"""Back-pressure for a ZIP read while it downloads: downloads pause while too much is spooled unread.

The spool may hold at most ``limit`` bytes the reader has not read yet, over all its tracks. A write
waits until the reader catches up, so the upstream reads pause too (TCP does the rest). The track the
reader is on may always write once the reader has read all of it, so the reader can never starve.
A write that waits longer than ``patience`` seconds means the reader is too slow: the window is then
``stalled`` (with a ``reason``) and the write raises ``DownloadError``; the HTTP layer ends the stream.
"""

from __future__ import annotations

import asyncio

from audiofetch.errors import DownloadError

__all__ = ["ReadWindow"]


class ReadWindow:
    """How far the downloads of one ZIP may run ahead of its reader; see the module docstring."""

    def __init__(self, limit: int, patience: float) -> None:
        self.limit, self.patience = limit, patience
        self._sizes: dict[int, int] = {}  # position -> bytes in its spool file
        self._sent: dict[int, int] = {}  # position -> bytes the reader took from it
        self._reading = 0  # the position the reader is on
        self._changed = asyncio.Event()
        self.stalled = asyncio.Event()
        self.reason: str | None = None

    @property
    def unread(self) -> int:
        """Bytes spooled and not read yet, over every track still in the spool."""
        return sum(max(0, size - self._sent.get(pos, 0)) for pos, size in self._sizes.items())

    def sized(self, position: int, size: int) -> None:
        """The spool file of ``position`` now holds ``size`` bytes (0 after a restart)."""
        self._sizes[position] = size

    def sent(self, position: int, offset: int) -> None:
        """The reader is on ``position`` and has taken ``offset`` bytes of it."""
        self._reading, self._sent[position] = position, offset
        self._wake()

    def released(self, position: int) -> None:
        """The reader is done with ``position``: its file leaves the spool."""
        self._sizes.pop(position, None)
        self._sent.pop(position, None)
        self._reading = max(self._reading, position + 1)
        self._wake()

    def _open(self, position: int) -> bool:
        if position == self._reading and self._sizes.get(position, 0) <= self._sent.get(position, 0):
            return True  # the reader waits for exactly this track
        return self.unread < self.limit

    async def room(self, position: int) -> None:
        """Wait until ``position`` may write; ``DownloadError`` after ``patience`` seconds of waiting."""
        if self.reason is not None:
            raise DownloadError(self.reason)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while not self._open(position):
            if self.reason is not None:
                raise DownloadError(self.reason)
            self._changed.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._changed.wait()
            except TimeoutError:
                self.reason = (
                    f"the browser read the ZIP too slowly: downloads waited {self.patience:g} s for it to "
                    "catch up (AUDIOFETCH_SLOW_READER_TIMEOUT), so the download was stopped"
                )
                self.stalled.set()
                self._wake()
                raise DownloadError(self.reason) from None

    def _wake(self) -> None:
        self._changed.set()
