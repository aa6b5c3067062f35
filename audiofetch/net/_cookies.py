"""Cookies a user handed over for one job: matched to each request the way a browser matches them.

A ``JobCookies`` lives in memory only, on the Fetcher a job downloads with (``Fetcher.with_cookies``),
and is dropped with it. Cookie values never appear in ``repr`` or ``str`` (so never in a log line or a
traceback's locals); the ``Cookie`` header is computed per hop, so a redirect to another site does not
carry the first site's cookies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["JobCookie", "JobCookies"]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class JobCookie:
    """One cookie as a browser holds it (RFC 6265 §5.3): ``domain`` without a leading dot, lower case.

    ``host_only`` cookies go to exactly ``domain``; the others also to its subdomains (never when the
    domain is an IP address). ``value`` is kept out of ``repr``.
    """

    name: str
    value: str = field(repr=False)
    domain: str
    path: str = "/"
    secure: bool = False
    host_only: bool = True

    def matches(self, scheme: str, host: str, path: str) -> bool:
        """Whether a browser would send this cookie to ``scheme://host/path`` (RFC 6265 §5.4)."""
        if self.secure and scheme != "https":
            return False
        if host != self.domain and (
            self.host_only or _is_ip(host) or _is_ip(self.domain) or not host.endswith("." + self.domain)
        ):
            return False
        wanted = self.path or "/"
        if path == wanted or wanted == "/":
            return True
        return path.startswith(wanted) and (wanted.endswith("/") or path[len(wanted)] == "/")


class JobCookies:
    """The cookies of one job; ``header_for(url)`` is the ``Cookie`` header a browser would send there."""

    __slots__ = ("_cookies",)

    def __init__(self, cookies: Iterable[JobCookie] = ()) -> None:
        self._cookies = tuple(cookies)

    def __repr__(self) -> str:
        return f"<JobCookies: {len(self._cookies)} cookies>"

    def __len__(self) -> int:
        return len(self._cookies)

    def __bool__(self) -> bool:
        return bool(self._cookies)

    @property
    def domains(self) -> frozenset[str]:
        """The domains the cookies belong to (for messages; never the values)."""
        return frozenset(cookie.domain for cookie in self._cookies)

    def header_for(self, url: str) -> str | None:
        """``name=value; ...`` for the cookies that match ``url`` (longer paths first), or None."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        found = [c for c in self._cookies if c.matches(parts.scheme.lower(), host, parts.path or "/")]
        if not found:
            return None
        found.sort(key=lambda cookie: -len(cookie.path))
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in found)

    @classmethod
    def from_header(cls, header: str, host: str) -> JobCookies:
        """Host-only cookies of ``host`` from a ``Cookie`` header value (``a=1; b=2``); malformed pairs
        (no ``=`` or no name) are dropped."""
        pairs = (part.strip().partition("=") for part in header.split(";"))
        return cls(
            JobCookie(name.strip(), value.strip(), host) for name, sep, value in pairs if sep and name.strip()
        )

    def only_for(self, urls: Iterable[str]) -> JobCookies:
        """The cookies a request to at least one of ``urls`` would carry; the others are dropped."""
        targets = list(urls)
        return JobCookies(c for c in self._cookies if any(self._matches_url(c, url) for url in targets))

    @staticmethod
    def _matches_url(cookie: JobCookie, url: str) -> bool:
        parts = urlsplit(url)
        return cookie.matches(parts.scheme.lower(), (parts.hostname or "").lower(), parts.path or "/")
