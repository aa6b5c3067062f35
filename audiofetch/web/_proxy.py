"""Running behind a reverse proxy: forwarded headers from trusted proxies, and mounting under a base path.

``X-Forwarded-For``, ``-Proto`` and ``-Host`` are believed only when the direct peer's address is in
``AUDIOFETCH_TRUSTED_PROXIES``; anyone else could write them. The outermost middleware then replaces the
request's remote address, scheme and host (``request.clone``), so everything after it (Secure cookies,
the Origin check, the login throttle, per-client ids, the bookmarklet) sees what the client used.

``mount`` puts the whole app under ``AUDIOFETCH_BASE_PATH`` as a sub-application of a small root app that
also answers ``/healthz`` (for container health checks) and redirects the bare prefix to ``prefix/``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDictProxy

from audiofetch.config import Settings
from audiofetch.web._keys import SETTINGS_KEY
from audiofetch.web._middlewares import SECURITY_HEADERS
from audiofetch.web._pages import healthz

__all__ = ["ForwardedView", "behind_proxy", "forwarded_middleware", "mount", "read_forwarded"]

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

X_FORWARDED_FOR = "X-Forwarded-For"
X_FORWARDED_PROTO = "X-Forwarded-Proto"
X_FORWARDED_HOST = "X-Forwarded-Host"
# A host name or an IP literal, with an optional port: nothing a URL or a header could be built wrong from.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)
_MAX_HOPS = 32
_MAX_WARNED_PEERS = 16


@dataclass(frozen=True, slots=True)
class ForwardedView:
    """The request as the client made it, per a trusted proxy: address, ``http``/``https``, Host."""

    remote: str
    scheme: str | None
    host: str | None


def _address(text: str) -> Address | None:
    """An IP from a peer name or an X-Forwarded-For entry (``[::1]:80`` and ``1.2.3.4:5`` tolerated)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def _values(headers: CIMultiDictProxy[str], name: str) -> list[str]:
    """Every comma-separated value of every ``name`` header, in order (empty ones dropped)."""
    values = [part.strip() for header in headers.getall(name, ()) for part in header.split(",")]
    return [value for value in values if value][-_MAX_HOPS:]


def read_forwarded(
    peer: str | None, headers: CIMultiDictProxy[str], trusted: Sequence[Network]
) -> ForwardedView | None:
    """What the forwarded headers say, or None when ``peer`` is not a trusted proxy.

    The client is the first address from the right of ``X-Forwarded-For`` that is not itself a trusted
    proxy (each proxy appends the address it saw); an unreadable entry stops the walk there. Scheme
    and host are the last ``X-Forwarded-Proto``/``-Host`` values, the ones the proxy talking to us set;
    a scheme other than http/https or a malformed host is ignored.
    """
    current = _address(peer or "")
    if not trusted or current is None or not _trusted(current, trusted):
        return None
    for hop in reversed(_values(headers, X_FORWARDED_FOR)):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(current, trusted):
            break
    protos = _values(headers, X_FORWARDED_PROTO)
    scheme = protos[-1].lower() if protos and protos[-1].lower() in ("http", "https") else None
    hosts = _values(headers, X_FORWARDED_HOST)
    host = hosts[-1] if hosts and _HOST.fullmatch(hosts[-1]) else None
    return ForwardedView(str(current), scheme, host)


def forwarded_middleware(trusted: Sequence[Network]) -> Middleware:
    """The middleware that applies ``read_forwarded``; install it first (outermost), and only once."""
    networks = tuple(trusted)
    warned: set[str] = set()

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        view = read_forwarded(request.remote, request.headers, networks)
        if view is None:
            _warn_untrusted(request, warned)
            return await handler(request)
        seen = request.clone(
            remote=view.remote, scheme=view.scheme or request.scheme, host=view.host or request.host
        )
        return await handler(seen)

    return forwarded


def _warn_untrusted(request: web.Request, warned: set[str]) -> None:
    """Say once per peer (for the first few) that its X-Forwarded-For was ignored: a likely set-up mistake."""
    peer = request.remote or "unknown"
    if X_FORWARDED_FOR not in request.headers or peer in warned or len(warned) >= _MAX_WARNED_PEERS:
        return
    warned.add(peer)
    log.warning(
        "ignored X-Forwarded-* from %s: it is not in AUDIOFETCH_TRUSTED_PROXIES (add it if it is your proxy)",
        peer,
    )


def _redirect_to_slash(base: str) -> Handler:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_query_string
        query = f"?{raw}" if raw else ""
        raise web.HTTPPermanentRedirect(f"{base}/{query}")

    return redirect


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def mount(app: web.Application, settings: Settings, *, client_max_size: int) -> web.Application:
    """A root app serving ``app`` under ``settings.base_path``, ``/healthz``, and the bare prefix's redirect.

    ``client_max_size`` must be ``app``'s: the root app reads the request bodies.
    """
    base = settings.base_path
    root = web.Application(client_max_size=client_max_size)
    root[SETTINGS_KEY] = settings
    if settings.trusted_proxies:
        root.middlewares.append(forwarded_middleware(settings.trusted_proxies))
    root.on_response_prepare.append(_security_headers)
    root.router.add_get(base, _redirect_to_slash(base), name="base")  # before the sub-app: same prefix
    root.add_subapp(base, app)
    root.router.add_get("/healthz", healthz, name="healthz")
    return root


def behind_proxy(app: web.Application, settings: Settings, *, client_max_size: int) -> web.Application:
    """``app`` ready for ``settings``: mounted under the base path, or with the forwarded middleware first."""
    if settings.base_path:
        return mount(app, settings, client_max_size=client_max_size)
    if settings.trusted_proxies:
        app.middlewares.insert(0, forwarded_middleware(settings.trusted_proxies))
    return app
