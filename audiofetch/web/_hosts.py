"""The Host header check: answer only to the server's own names (a guard against DNS rebinding).

A page on ``attacker.example`` whose name later re-resolves to this server's address could drive it
with the visitor's browser and read the answers: the browser thinks it talks to ``attacker.example``
and sends that name as Host. So a request whose Host is not one of ours is refused before any handler
runs: 421 Misdirected Request for a well-formed foreign name, 400 for a missing or malformed Host.

Ours are, with ``AUDIOFETCH_ALLOWED_HOSTS`` set, the names it lists (``*.example`` for sub-domains)
plus loopback; without it ``localhost``, loopback addresses, the ``HOST`` address (any IP address
when bound to ``0.0.0.0`` or ``::``; an IP literal cannot be rebound) and, for requests a trusted
proxy forwarded, the host it says the client used (the proxy's own server names decide those).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from audiofetch.config import Settings

from ._proxy import X_FORWARDED_HOST, read_forwarded

__all__ = ["host_allowed", "host_middleware", "split_host"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_MAX_LOGGED = 16


def split_host(value: str | None) -> str | None:
    """The name or IP of a Host header, lower case, without port or final dot; None when malformed."""
    if not value or len(value) > 300:
        return None
    text = value.strip().lower()
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
            return None
        try:
            return str(ipaddress.IPv6Address(inside))
        except ValueError:
            return None
    name, colon, port = text.partition(":")
    if colon and not _PORT.fullmatch(port):
        return None
    name = name.rstrip(".")
    return name if _NAME.fullmatch(name) else None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _listed(name: str, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        entry = entry.strip("[]")
        if entry.startswith("*."):
            if name.endswith(entry[1:]) and len(name) > len(entry) - 1:
                return True
        elif name == entry:
            return True
    return False


def host_allowed(name: str, settings: Settings, *, forwarded: bool) -> bool:
    """Whether ``name`` (from ``split_host``) is one of the server's own (see the module docstring)."""
    address = _ip(name)
    if name == "localhost" or (address is not None and address.is_loopback):
        return True
    if settings.allowed_hosts:
        return _listed(name, settings.allowed_hosts)
    if forwarded:
        return True  # the trusted proxy's server names chose which hosts reach us
    bound = settings.host.strip().strip("[]").lower()
    if address is not None:
        return bound in _WILDCARDS or _ip(bound) == address
    return name == bound


def host_middleware(settings: Settings) -> Middleware:
    """The middleware refusing foreign Host headers; install it outermost (before any other)."""
    trusted = tuple(settings.trusted_proxies)
    logged: set[str] = set()

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        view = read_forwarded(request.remote, request.headers, trusted) if trusted else None
        given = request.headers.get(hdrs.HOST)
        if view is not None and X_FORWARDED_HOST in request.headers:
            given = view.host
        name = split_host(given)
        if name is None:
            return _refusal(400, "the request has no usable Host header")
        if not host_allowed(name, settings, forwarded=view is not None):
            if len(logged) < _MAX_LOGGED and name not in logged:
                logged.add(name)
                log.warning(
                    "refused a request for the host %r (not ours: add it to AUDIOFETCH_ALLOWED_HOSTS if it "
                    "is)",
                    name,
                )
            return _refusal(
                421,
                "this server does not answer to that host name; its administrator can add the name to "
                "AUDIOFETCH_ALLOWED_HOSTS",
            )
        return await handler(request)

    return check_host


def _refusal(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=message + "\n",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )
