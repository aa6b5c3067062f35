"""The SSRF guard: which URLs and which addresses AudioFetch may talk to.

Two checks, both pure. ``check_url`` runs before every request and every redirect hop (scheme, userinfo,
port, and the address itself when the host is an IP literal or a numeric IPv4 spelling such as
``0x7f000001``). ``guarded_socket_factory`` runs when a socket is about to be created for an address the
resolver returned, so it sees what is really connected to, on every hop, whatever the URL spelled (names,
DNS rebinding, IP literals alike). Refusing there happens before any packet leaves.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from yarl import URL

from audiofetch.errors import BlockedURLError

__all__ = [
    "BAD_PORTS",
    "RefusedAddress",
    "address_problem",
    "check_address",
    "check_url",
    "guarded_socket_factory",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# WHATWG Fetch "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): protocols an HTTP request could
# be smuggled into. Port 0 is never a real destination.
BAD_PORTS: frozenset[int] = frozenset(
    {0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103,
     104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514,
     515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723,
     2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)  # fmt: skip

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")  # wider than Python 3.11's private list
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_REFUSAL_MARK = "refused by the AudioFetch address guard"


class RefusedAddress(OSError):
    """Raised by the socket factory; an OSError so the connector tries the resolver's next address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"{address} is {reason} ({_REFUSAL_MARK})")
        self.address = address
        self.reason = reason


def is_refusal(error: BaseException) -> bool:
    """True when a connector error came from the guard (also when merged with other attempts' errors)."""
    return isinstance(error, RefusedAddress) or _REFUSAL_MARK in str(error)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 form carries besides itself: 6to4, Teredo (server and client)."""
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _own_problem(address: Address) -> str | None:
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv4Address) and address in _PROTOCOL_ASSIGNMENTS:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in _NAT64[1:]):
        return "a local-use NAT64 address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def address_problem(ip: str | Address, allow_networks: Iterable[Network] = ()) -> str | None:
    """Why ``ip`` may not be connected to (e.g. ``"a loopback address"``), or None when it may.

    IPv6 forms that carry an IPv4 address are judged by that address as well. An address inside one of
    ``allow_networks`` (in either spelling) is always allowed.
    """
    try:
        address: Address = ip if not isinstance(ip, str) else ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # the same host spelled in IPv6: judge it as IPv4 only
    elif isinstance(address, ipaddress.IPv6Address) and address in _NAT64[0]:
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)  # the translator connects there
    forms: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        forms.extend(_embedded_ipv4(address))
    allowed = tuple(allow_networks)
    if any(form in net for form in forms for net in allowed):
        return None
    for form in forms:
        problem = _own_problem(form)
        if problem is not None:
            return problem if form is address else f"{problem} inside an IPv6 address"
    return None


def check_address(ip: str | Address, allow_networks: Iterable[Network] = ()) -> None:
    """Raise ``BlockedURLError`` unless ``ip`` is a public address or inside ``allow_networks``."""
    problem = address_problem(ip, allow_networks)
    if problem is not None:
        raise BlockedURLError(f"refused to connect to {ip}: it is {problem}")


def check_url(url: str | URL, allow_networks: Iterable[Network] = ()) -> URL:
    """Parse and vet a URL before it is requested; return it as a ``yarl.URL``.

    Refuses (``BlockedURLError``) anything but http/https, user:password@ URLs, the WHATWG bad ports, and
    IP-literal hosts the address check refuses. Numeric IPv4 spellings (``0x7f000001``, ``0177.0.0.1``)
    are judged as the address they mean and rewritten to it, so no resolver gets to interpret them.
    Host names are judged later, at connect time.
    """
    text = str(url)
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        port = parsed.port
    except (ValueError, TypeError) as exc:
        raise BlockedURLError(f"{_short(text)} is not a valid web address", url=text) from exc
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "no scheme"
        raise BlockedURLError(f"only http and https addresses can be fetched, not {shown}", url=text)
    if parsed.user is not None or parsed.password is not None:
        raise BlockedURLError("addresses with a user name or password are refused", url=text)
    host = parsed.host
    if not host:
        raise BlockedURLError(f"{_short(text)} has no host name", url=text)
    if port is None or port in BAD_PORTS:
        raise BlockedURLError(f"port {port} is refused: it belongs to a non-web protocol", url=text)
    shown = host
    try:
        literal: Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = _numeric_ipv4(host, text)
        if literal is not None:  # 0x7f000001, 2130706433, 0177.0.0.1, 127.1: connect to what was judged
            parsed, shown = parsed.with_host(str(literal)), str(literal)
    if literal is not None:
        problem = address_problem(literal, allow_networks)
        if problem is not None:
            raise BlockedURLError(f"refused to fetch {_short(text)}: {shown} is {problem}", url=text)
    return parsed


def _ipv4_part(part: str) -> int | None:
    """One WHATWG IPv4 number: ``0x``-prefixed hex, ``0``-prefixed octal or decimal; None if not one."""
    base = 10
    if part[:2].lower() == "0x":
        part, base = part[2:] or "0", 16
    elif len(part) > 1 and part.startswith("0"):
        part, base = part[1:], 8
    digits = "0123456789abcdef"[:base]
    if not part or any(char not in digits for char in part.lower()):
        return None
    return int(part, base)


def _numeric_ipv4(host: str, text: str) -> ipaddress.IPv4Address | None:
    """The address a host spelled as numbers means to browsers and ``inet_aton`` (WHATWG URL, "IPv4
    parser"): ``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1``, ``127.0.0.1.``, percent-encoded
    digits. None for host names. A name whose last label is a number but no address is refused.
    """
    decoded = unquote(host)
    parts = decoded.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts or _ipv4_part(parts[-1]) is None:
        return None  # does not end in a number: a host name, judged at connect time
    numbers = [_ipv4_part(part) for part in parts] if len(parts) <= 4 else [None]
    valid = [number for number in numbers if number is not None]
    if len(valid) != len(numbers) or any(n > 255 for n in valid[:-1]) or valid[-1] >= 256 ** (5 - len(valid)):
        raise BlockedURLError(f"{_short(text)} has a numeric host that is not an address", url=text)
    value = valid[-1]
    for position, number in enumerate(valid[:-1]):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def guarded_socket_factory(allow_networks: Iterable[Network]) -> Callable[[Any], socket.socket]:
    """A ``TCPConnector(socket_factory=...)`` that refuses to create sockets for refused addresses.

    The argument is the resolver's ``(family, type, proto, canonname, sockaddr)`` tuple; a refusal raises
    ``RefusedAddress`` before the socket exists, so nothing is sent.
    """
    allowed = tuple(allow_networks)

    def create(addr_info: Any) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise RefusedAddress(str(sockaddr), "not an internet address")
        host = str(sockaddr[0])
        problem = address_problem(host, allowed)
        if problem is not None:
            raise RefusedAddress(host, problem)
        return socket.socket(family=family, type=type_, proto=proto)

    return create


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
