"""The minimum transfer rate: a track arriving slower than ``min_rate`` is dropped and retried later.

A server can hold a connection for hours by sending one byte just inside the read timeout. The rate
is averaged over windows of ``min_rate_window`` seconds of *waiting for the network* only: time our
own side spends writing (or paused by a slow ZIP reader) is not the server's fault and is not counted.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator

from audiofetch.errors import FetchError

__all__ = ["at_least"]


async def at_least(
    pieces: AsyncIterator[bytes], *, rate: int, window: float, url: str
) -> AsyncGenerator[bytes, None]:
    """``pieces`` as they come; a retryable ``FetchError`` once a window brought fewer than
    ``rate * window`` bytes. ``rate`` 0 passes everything through."""
    waited, received = 0.0, 0
    while True:
        started = time.monotonic()
        try:
            piece = await anext(pieces)
        except StopAsyncIteration:
            return
        waited += time.monotonic() - started
        received += len(piece)
        if rate and waited >= window:
            if received < rate * waited:
                raise FetchError(
                    f"the transfer was slower than {_rate(rate)} for {waited:.0f} s; it will be tried again",
                    url=url,
                    retryable=True,
                )
            waited, received = 0.0, 0
        yield piece


def _rate(rate: int) -> str:
    return f"{rate} bytes/s" if rate < 1024 else f"{rate / 1024:g} KiB/s"
