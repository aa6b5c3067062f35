"""The one ``aiohttp.ClientSession`` of a process: guarded connector, timeouts, browser-like headers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver

from audiofetch.config import Settings

from ._fetch import Fetcher
from ._guard import guarded_socket_factory
from ._shares import ConnectionShares

__all__ = ["BROWSER_USER_AGENT", "open_fetcher"]

# Many audio hosts answer scripts differently from browsers; look like a current desktop Firefox.
BROWSER_USER_AGENT: Final = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
_CONNECTION_LIMIT: Final = 100


@contextlib.asynccontextmanager
async def open_fetcher(
    settings: Settings, *, resolver: AbstractResolver | None = None
) -> AsyncIterator[Fetcher]:
    """Open the process-wide Fetcher; closing the block closes every connection.

    ``resolver`` replaces DNS (tests map names to addresses with it); whatever it answers still goes
    through the address guard, as do IP literals, which never reach a resolver.
    """
    connector = aiohttp.TCPConnector(
        limit=_CONNECTION_LIMIT,
        resolver=resolver,
        socket_factory=guarded_socket_factory(settings.allow_networks),
    )
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": BROWSER_USER_AGENT, "Accept-Language": "en-US,en;q=0.8"},
        cookie_jar=aiohttp.DummyCookieJar(),  # shared by every job: keep no site's cookies across them
        trust_env=False,  # no proxy from the environment: the guard must see the real destination
    )
    shares = ConnectionShares(
        total=_CONNECTION_LIMIT,
        per_group=settings.connections_per_client,
        per_job=settings.connections_per_job,
        wait=settings.connection_wait,
    )
    try:
        yield Fetcher(session, settings, shares)
    finally:
        await session.close()
