"""The Fetcher: pages (capped, decompressed), first bytes for sniffing, and media streams with Range.

Redirects are followed here, by hand, so that every hop's URL goes through ``check_url`` before it is
requested; the connector's socket factory then checks the address each hop really connects to.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from yarl import URL

from audiofetch.config import Settings
from audiofetch.errors import FetchError, TooLargeError

from ._cookies import JobCookies
from ._errors import status_error, translate_errors
from ._guard import check_url
from ._shares import ConnectionShares, Owner

__all__ = ["MAX_REDIRECTS", "FetchedPage", "Fetcher", "MediaStream"]

MAX_REDIRECTS: Final = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
# Receive buffer for media bodies (measured: see the note in audiofetch/download/_track.py).
MEDIA_READ_BUFFER: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fully read (or, for ``fetch_head``, deliberately partial) response.

    ``url`` is the final URL after redirects; ``content_type`` is the MIME type alone, lower case
    (``""`` when absent), ``charset`` the declared one if any.
    """

    url: str
    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    charset: str | None = None

    def header(self, name: str) -> str | None:
        """First header called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


class MediaStream:
    """An open media response: its metadata and an iterator over the body as it arrives.

    ``start`` is the offset of the first byte the body carries: the requested one when the server honoured
    the Range (``range_honoured``), else 0. ``total`` is the full size of the file when the server said so.
    """

    def __init__(self, response: aiohttp.ClientResponse, requested_start: int) -> None:
        self._response = response
        self.url = str(response.url)
        self.status = response.status
        self.content_type = response.content_type if "Content-Type" in response.headers else ""
        self.headers: tuple[tuple[str, str], ...] = tuple(response.headers.items())
        self.start, self.total, self.range_honoured = _range_outcome(response, requested_start)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The body in the pieces the network delivers (at most the receive buffer); FetchError if cut."""
        with translate_errors(self.url):
            async for (
                piece,
                _,
            ) in self._response.content.iter_chunks():  # as received: no joining copy
                if piece:
                    yield piece


def _range_outcome(response: aiohttp.ClientResponse, requested: int) -> tuple[int, int | None, bool]:
    length = response.content_length
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None:
            raise FetchError(f"{response.url} sent a partial answer without a usable Content-Range")
        first, total = int(match.group(1)), match.group(3)
        size = None if total == "*" else int(total)
        return first, size, first == requested
    return 0, length, requested == 0


class Fetcher:
    """All HTTP access AudioFetch makes, over one shared, guarded ``aiohttp.ClientSession``.

    Build it with ``open_fetcher``; it is safe to share between concurrent jobs. ``for_owner`` gives a
    view whose requests count against a job's and a client's fair share of the connections.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        shares: ConnectionShares | None = None,
        owner: Owner | None = None,
        *,
        cookies: JobCookies | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._shares = shares
        self._owner = owner
        self._cookies = cookies

    def for_owner(self, owner: Owner) -> Fetcher:
        """The same fetcher, its requests counted against ``owner``'s shares (see ``ConnectionShares``)."""
        return Fetcher(self._session, self._settings, self._shares, owner, cookies=self._cookies)

    def with_cookies(self, cookies: JobCookies | None) -> Fetcher:
        """A Fetcher on the same session that sends ``cookies`` where they match (one job's downloads).

        The ``Cookie`` header is chosen again at every redirect hop; this Fetcher and the cookies are
        dropped together when the job lets go of it. ``None`` or no cookies: this Fetcher itself.
        """
        if not cookies:
            return self
        return Fetcher(self._session, self._settings, self._shares, self._owner, cookies=cookies)

    def for_page(self, page_url: str, cookie: str | None) -> Fetcher:
        """A fetcher for one job's requests that also sends ``cookie`` to ``page_url``'s own host.

        Made for the cookies a rendered page's scripts set (a ``Cookie`` header value): host-only cookies
        of that host, so a redirect hop to another host carries none, kept nowhere but on this Fetcher;
        the shared session's cookie jar stays empty. Without a cookie, this fetcher itself.
        """
        host = URL(page_url).host if cookie else None
        if not cookie or not host:
            return self
        return self.with_cookies(JobCookies.from_header(cookie, host.lower()))

    @property
    def settings(self) -> Settings:
        """The settings the fetcher was opened with."""
        return self._settings

    async def fetch_page(
        self, url: str, *, referer: str | None = None, max_bytes: int | None = None
    ) -> FetchedPage:
        """GET a page and read all of it, decompressed, up to ``max_bytes`` (default: max_page_bytes).

        Raises ``TooLargeError`` past the cap (a compression bomb stops there), ``FetchError`` on non-2xx
        (with ``.status``), ``BlockedURLError`` when any hop is refused.
        """
        cap = self._settings.max_page_bytes if max_bytes is None else max_bytes
        headers = {"Accept": _PAGE_ACCEPT}
        async with self._open(url, headers, referer=referer) as response:
            final = str(response.url)
            if not 200 <= response.status < 300:
                raise status_error(final, response.status, response.headers.get("Retry-After"))
            length = response.content_length
            if length is not None and length > cap:
                raise TooLargeError(f"{final} is larger than the {_size(cap)} limit", url=final)
            body = bytearray()
            with translate_errors(final):
                async for piece in response.content.iter_any():
                    body += piece
                    if len(body) > cap:
                        raise TooLargeError(f"{final} is larger than the {_size(cap)} limit", url=final)
            return _page(response, bytes(body))

    async def fetch_head(self, url: str, *, referer: str | None = None, max_bytes: int = 4096) -> FetchedPage:
        """GET only the first ``max_bytes`` of a resource (asked with Range, cut off if ignored).

        Made for sniffing whether a link is an audio file without downloading it; the connection of an
        unfinished body is closed rather than drained. Non-2xx raises ``FetchError``.
        """
        headers = {
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "Range": f"bytes=0-{max_bytes - 1}",
        }
        async with self._open(url, headers, referer=referer) as response:
            final = str(response.url)
            if not 200 <= response.status < 300:
                raise status_error(final, response.status, response.headers.get("Retry-After"))
            head = bytearray()
            with translate_errors(final):
                while len(head) < max_bytes:
                    piece = await response.content.read(max_bytes - len(head))
                    if not piece:
                        break
                    head += piece
            return _page(response, bytes(head))

    @contextlib.asynccontextmanager
    async def open_stream(
        self, url: str, *, start: int = 0, referer: str | None = None
    ) -> AsyncIterator[MediaStream]:
        """Open a media URL for reading from byte ``start`` (one attempt, no retry).

        Sends ``Accept-Encoding: identity`` and, when ``start`` > 0, ``Range: bytes=start-``. Raises
        ``FetchError`` with ``retryable``/``retry_after`` set for connection errors, timeouts, 5xx and 429;
        4xx are final. Leaving the block closes the response.
        """
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        async with self._open(url, headers, referer=referer, read_bufsize=MEDIA_READ_BUFFER) as response:
            final = str(response.url)
            if not 200 <= response.status < 300:
                raise status_error(final, response.status, response.headers.get("Retry-After"))
            yield MediaStream(response, start)

    async def post_json(
        self, url: str, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> int:
        """POST ``body`` as JSON to ``url`` and return the status (the answer's body is not read).

        Made for webhooks: the URL and the address really connected to pass the guard like any fetch
        (``BlockedURLError``); redirects are not followed (a 3xx comes back as it is); a connection
        error or timeout raises ``FetchError`` with ``retryable`` set.
        """
        current = check_url(url, self._settings.allow_networks)
        request_headers = {"Content-Type": "application/json", **(headers or {})}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        with translate_errors(str(current)):
            async with self._session.post(
                current, data=data, headers=request_headers, allow_redirects=False
            ) as response:
                return response.status

    @contextlib.asynccontextmanager
    async def _open(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        referer: str | None,
        read_bufsize: int | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        allow = self._settings.allow_networks
        current = check_url(url, allow)
        if self._shares is None:
            slot: contextlib.AbstractAsyncContextManager[None] = contextlib.nullcontext()
        else:
            slot = self._shares.slot(self._owner, str(current))
        async with slot, self._follow(url, current, headers, referer, read_bufsize) as response:
            yield response

    @contextlib.asynccontextmanager
    async def _follow(
        self,
        url: str,
        current: URL,
        headers: Mapping[str, str],
        referer: str | None,
        read_bufsize: int | None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        allow = self._settings.allow_networks
        request_headers = dict(headers)
        if referer:
            request_headers["Referer"] = referer
        for hop in range(MAX_REDIRECTS + 1):
            request_headers.pop("Cookie", None)
            cookie = self._cookies.header_for(str(current)) if self._cookies else None
            if cookie:
                request_headers["Cookie"] = cookie
            with translate_errors(str(current)):
                response = await self._session.get(
                    current,
                    headers=request_headers,
                    allow_redirects=False,
                    read_bufsize=read_bufsize,
                )
            location = response.headers.get("Location")
            if response.status not in _REDIRECT_STATUSES or location is None:
                break
            response.release()
            if hop == MAX_REDIRECTS:
                raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times", url=url)
            try:
                target = current.join(URL(location))
            except (ValueError, TypeError) as exc:
                raise FetchError(f"{current} redirects to an unusable address", url=str(current)) from exc
            current = check_url(target, allow)
        try:
            yield response
        finally:
            response.release()


def _page(response: aiohttp.ClientResponse, body: bytes) -> FetchedPage:
    has_type = "Content-Type" in response.headers
    return FetchedPage(
        url=str(response.url),
        status=response.status,
        content_type=response.content_type if has_type else "",
        headers=tuple(response.headers.items()),
        body=body,
        charset=response.charset if has_type else None,
    )


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.0f} {unit}"
        count //= 1024
    return f"{count} bytes"
