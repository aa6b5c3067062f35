"""Fair shares of the outgoing connections: one global pool, a share per client group and per job.

Every request the Fetcher makes holds one slot from the moment it is sent until its response is
released (redirect hops included). A slot is taken, in this order, from the job's share, from each of
the owner's groups (its client id and its network address: a client that drops its cookie stays in
its address's group) and from the global pool. Waiting for one's own shares has no limit (a job only
waits for itself); waiting for the global pool is bounded by ``connection_wait``, so one client can
never make another wait for minutes: the request fails with a retryable ``FetchError`` instead.
Shares exist while in use and are forgotten when their last slot is returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from audiofetch.errors import FetchError

__all__ = ["ConnectionShares", "Owner"]


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a request is made for: a job (or None: a preview) and the groups it counts against."""

    job: str | None = None
    groups: tuple[str, ...] = ()


class _Share:
    """A counting semaphore that knows how many tasks hold or wait for it (to forget it when idle)."""

    __slots__ = ("semaphore", "users")

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.users = 0


class ConnectionShares:
    """Slots for outgoing requests: ``total`` in all, ``per_group`` per client group, ``per_job`` per job.

    ``wait`` is how many seconds a request may wait for the global pool before ``FetchError``.
    """

    def __init__(self, *, total: int, per_group: int, per_job: int, wait: float) -> None:
        self.total, self.per_group, self.per_job, self.wait = total, per_group, per_job, wait
        self._global = asyncio.Semaphore(total)
        self._shares: dict[str, _Share] = {}

    @contextlib.asynccontextmanager
    async def slot(self, owner: Owner | None, url: str) -> AsyncIterator[None]:
        """Hold one slot for ``owner`` while the block runs; ``FetchError`` when the pool stays full."""
        keys: list[tuple[str, int]] = []
        if owner is not None:
            if owner.job is not None:
                keys.append((f"job:{owner.job}", self.per_job))
            keys.extend((group, self.per_group) for group in dict.fromkeys(owner.groups) if group)
        async with contextlib.AsyncExitStack() as stack:
            for key, limit in keys:
                await stack.enter_async_context(self._held(key, limit))
            try:
                async with asyncio.timeout(self.wait):
                    await self._global.acquire()
            except TimeoutError:
                raise FetchError(
                    f"no free connection within {self.wait:g} s (the server is busy); try again shortly",
                    url=url,
                    retryable=True,
                ) from None
            try:
                yield
            finally:
                self._global.release()

    @contextlib.asynccontextmanager
    async def _held(self, key: str, limit: int) -> AsyncIterator[None]:
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = _Share(limit)
        share.users += 1
        try:
            async with share.semaphore:
                yield
        finally:
            share.users -= 1
            if share.users == 0:
                self._shares.pop(key, None)
