"""A browser-mode job's ZIP stream: one consumer, downloads run while it reads, cleanup on close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from audiofetch.download import ZipDownload
from audiofetch.zipstream import ZipEntry

__all__ = ["BrowserStream"]


class BrowserStream:
    """What ``JobRunner.open_stream`` hands the HTTP layer: ``entries`` for ``send_zip`` and ``close``.

    ``length`` is the archive's exact size when every track's size was probed. ``close`` must always be
    called (the HTTP handler does it in ``finally``); it stops the downloads, removes the spool and tells
    the runner whether the archive was delivered whole.
    """

    def __init__(
        self, filename: str, download: ZipDownload, on_close: Callable[[ZipDownload], Awaitable[None]]
    ) -> None:
        self._filename = filename
        self._download = download
        self._on_close = on_close
        self._closed = False

    @property
    def filename(self) -> str:
        return self._filename

    @property
    def length(self) -> int | None:
        return self._download.length

    @property
    def entries(self) -> Sequence[ZipEntry]:
        return self._download.entries

    @property
    def stall_reason(self) -> str | None:
        """Why the stream was given up on a reader too slow for too long, if it was."""
        return self._download.stall_reason

    async def stalled(self) -> None:
        """Return once the reader is too slow for too long: the HTTP layer then ends the response."""
        await self._download.stalled()

    async def close(self) -> None:
        """Stop and clean up (idempotent); the job ends completed only if every entry was read through."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._on_close(self._download)
        finally:
            await self._download.close()
