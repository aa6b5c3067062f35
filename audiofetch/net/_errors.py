"""Translate aiohttp's exceptions and HTTP statuses into ``FetchError``s, in one place.

Each error says whether trying again may help (``retryable``) and, for 429/503, how long the server asked
us to wait (``retry_after``, seconds). Nothing from aiohttp leaves this package.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator
from http import HTTPStatus

import aiohttp
from yarl import URL

from audiofetch.errors import BlockedURLError, FetchError

from ._guard import is_refusal

__all__ = ["parse_retry_after", "status_error", "translate_errors"]

_RETRYABLE_STATUSES = frozenset({408, 425, 429})


def _host(url: str) -> str:
    try:
        return URL(url).host or url
    except (ValueError, TypeError):
        return url


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn aiohttp and socket failures inside the block into ``FetchError`` (cancellation passes)."""
    try:
        yield
    except FetchError:
        raise
    except aiohttp.ClientConnectorDNSError as exc:
        raise FetchError(f"could not find the host {_host(url)}", url=url) from exc
    except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as exc:
        raise FetchError(f"the secure connection to {_host(url)} failed: {exc}", url=url) from exc
    except aiohttp.ClientConnectorError as exc:
        if is_refusal(exc.os_error):
            reason = str(exc.os_error).split(" (refused by", 1)[0]
            raise BlockedURLError(f"refused to fetch {url}: {reason}", url=url) from exc
        reason = exc.os_error.strerror or str(exc.os_error)
        raise FetchError(f"could not connect to {_host(url)}: {reason}", url=url, retryable=True) from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise FetchError(f"{_host(url)} stopped answering (timed out)", url=url, retryable=True) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise FetchError(f"the connection to {_host(url)} was cut off", url=url, retryable=True) from exc
    except aiohttp.InvalidURL as exc:
        raise BlockedURLError(f"{url} is not a valid web address", url=url) from exc
    except aiohttp.ClientResponseError as exc:
        raise FetchError(f"{_host(url)} sent a response we cannot read: {exc.message}", url=url) from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"fetching {url} failed: {exc}", url=url, retryable=True) from exc
    except OSError as exc:
        raise FetchError(f"fetching {url} failed: {exc.strerror or exc}", url=url, retryable=True) from exc


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(url: str, status: int, retry_after_header: str | None = None) -> FetchError:
    """The ``FetchError`` for a non-2xx final status: 5xx, 408, 425 and 429 may be retried."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    return FetchError(
        f"the server answered {status} {phrase} for {url}",
        url=url,
        status=status,
        retryable=retryable,
        retry_after=parse_retry_after(retry_after_header) if retryable else None,
    )
