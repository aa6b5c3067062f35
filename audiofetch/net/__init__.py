"""HTTP for AudioFetch: one guarded aiohttp session, pages, first bytes and resumable media streams.

Imports: aiohttp, yarl, ``audiofetch.config`` and ``audiofetch.errors`` only. aiohttp's exceptions never
leave this package; they arrive as ``FetchError``/``BlockedURLError``/``TooLargeError``.
"""

from __future__ import annotations

from ._cookies import JobCookie, JobCookies
from ._errors import parse_retry_after
from ._fetch import MAX_REDIRECTS, FetchedPage, Fetcher, MediaStream
from ._guard import BAD_PORTS, address_problem, check_address, check_url, guarded_socket_factory
from ._session import BROWSER_USER_AGENT, open_fetcher

__all__ = [
    "BAD_PORTS",
    "BROWSER_USER_AGENT",
    "MAX_REDIRECTS",
    "FetchedPage",
    "Fetcher",
    "JobCookie",
    "JobCookies",
    "MediaStream",
    "address_problem",
    "check_address",
    "check_url",
    "guarded_socket_factory",
    "open_fetcher",
    "parse_retry_after",
]
