"""URL identity for de-duplication, and which scripts count as the page's own site."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = ["normalize_url", "same_site"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WP_CACHE_BUSTER = re.compile(r"_=\d+")
_PATH_SAFE = "/:@!$&'()*+,;=~"
_QUERY_SAFE = "/:@!$'()*+,;=~?"
# Second-level labels under which registrations happen (example.co.uk, example.com.au).
_SECOND_LEVEL = frozenset(("co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"))


@lru_cache(maxsize=16384)  # the merge step asks for the same addresses several times
def normalize_url(url: str) -> str:
    """A key that is equal for two spellings of the same resource.

    Scheme and host case, default ports, percent-encoding differences (``,`` vs ``%2C``, raw UTF-8 vs
    escapes), WordPress's ``?_=N`` cache buster and the fragment are ignored.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    pairs = [
        quote(unquote(pair), safe=_QUERY_SAFE)
        for pair in parts.query.split("&")
        if pair and not _WP_CACHE_BUSTER.fullmatch(pair)
    ]
    return urlunsplit((scheme, netloc, path, "&".join(pairs), ""))


def _site(host: str) -> str:
    """The registrable-looking part of a host name: ``cdn.example.co.uk`` -> ``example.co.uk``."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host
    labels = host.rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def same_site(url: str, page_url: str) -> bool:
    """True when ``url`` is on the page's host or on the same registrable domain (IPs: same address)."""
    host = (urlsplit(url).hostname or "").lower()
    page_host = (urlsplit(page_url).hostname or "").lower()
    if not host or not page_host:
        return False
    return host == page_host or _site(host) == _site(page_host)
