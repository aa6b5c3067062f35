"""The egress proxy: the headless browser's only way out, through AudioFetch's address guard.

Chromium is started with ``--proxy-server`` pointing here. Two forms are served: plain HTTP requests in
absolute form (``GET http://host/path HTTP/1.1``) and ``CONNECT host:port`` tunnels (HTTPS, WebSockets).
Every request opens its own upstream connection: the name is resolved here (Chromium resolves none), each
address the resolver returns goes through ``guarded_socket_factory`` (the fetcher's own check), and the
connection is made to that very address, so what is checked is what is connected to. A redirect is a new
request from the browser, so every hop is checked again. Plain HTTP is forced to ``Connection: close`` in
both directions, so a kept-alive client connection can never carry a second request to the first host.
Refusals answer 403 and are counted (``refused``) for logs and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import Final

from aiohttp.abc import AbstractResolver
from yarl import URL

from audiofetch.errors import BlockedURLError
from audiofetch.net import BAD_PORTS, check_url, guarded_socket_factory

__all__ = ["EgressProxy"]

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HEAD: Final = 64 * 1024  # request or response head
MAX_CONNECTIONS: Final = 256  # open client connections at once; more are answered 503
_HEAD_TIMEOUT: Final = 10.0
_HOP_HEADERS: Final = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization"})
_PIPE_CHUNK: Final = 64 * 1024


class _Refused(Exception):
    """A request the proxy will not carry: (status, reason) for the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class EgressProxy:
    """A guarded HTTP proxy on 127.0.0.1 (a free port); ``start`` it, give ``server`` to Chromium.

    ``allow_networks`` are the guard's exceptions (``AUDIOFETCH_ALLOW_NETWORKS``); ``resolver`` replaces
    DNS as it does for the fetcher (tests); ``connect_timeout`` bounds each upstream connect (seconds).
    """

    def __init__(
        self,
        allow_networks: Iterable[Network],
        *,
        resolver: AbstractResolver | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self._allow = tuple(allow_networks)
        self._factory = guarded_socket_factory(self._allow)
        self._resolver = resolver
        self._connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0
        self.port = 0

    @property
    def server(self) -> str:
        """``http://127.0.0.1:PORT``, for ``--proxy-server``."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=MAX_HEAD)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._tasks) >= MAX_CONNECTIONS:
            writer.write(_answer(503, "too many connections"))
            writer.close()
            return
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(_HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, target, version, headers = _parse_head(head)
            if method == "CONNECT":
                host, port = _authority(target)
                up_reader, upstream = await self._connect(host, port)
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
                await _pipe_both(reader, writer, up_reader, upstream)
                return
            url = _absolute(target, self._allow)
            up_reader, upstream = await self._connect(url.raw_host or "", url.port or 80)
            upstream.write(_request_head(method, url, version, headers))
            await upstream.drain()
            sending = asyncio.create_task(_pipe(reader, upstream))
            try:
                response = await up_reader.readuntil(b"\r\n\r\n")
                writer.write(_closing_response(response))
                await _pipe(up_reader, writer)
            finally:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
        except _Refused as refusal:
            self.refused += refusal.status == 403
            log.debug("render proxy refused a request (%d): %s", refusal.status, refusal.reason)
            writer.write(_answer(refusal.status, refusal.reason))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()

    async def refusal(self, url: str) -> str | None:
        """Why the guard would refuse every address of ``url`` (nothing is connected to), or None.

        The render pass drops recorded media URLs the guard refuses: the browser never fetched them
        (media requests are cut short), so they are judged here as a connection would be.
        """
        try:
            checked = check_url(url, self._allow)
            port = checked.port or 80
            infos = await self._addresses((checked.raw_host or "").strip("[]"), port)
        except (BlockedURLError, _Refused) as exc:
            return str(exc)
        problems = []
        for info in infos:
            try:
                self._factory(info).close()
            except OSError as exc:
                problems.append(str(exc))
            else:
                return None
        return "; ".join(problems) or "no address"

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the first address of ``host`` the guard allows (403 when none is)."""
        if port in BAD_PORTS or not 0 < port < 65536:
            raise _Refused(403, f"port {port} belongs to a non-web protocol")
        try:  # literals and numeric spellings are judged (and rewritten) exactly as for the fetcher
            checked = check_url(URL.build(scheme="http", host=host, port=port), self._allow)
        except (BlockedURLError, ValueError) as exc:
            raise _Refused(403, str(exc)) from exc
        name = (checked.raw_host or host).strip("[]")
        loop = asyncio.get_running_loop()
        problems: list[str] = []
        for info in await self._addresses(name, port):
            try:
                sock = self._factory(info)  # refuses before the socket exists: nothing is sent
            except OSError as exc:
                problems.append(str(exc))
                continue
            sock.setblocking(False)
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await loop.sock_connect(sock, info[4])
            except (OSError, TimeoutError) as exc:
                sock.close()
                problems.append(f"{info[4][0]}: {exc or 'timed out'}")
                continue
            return await asyncio.open_connection(sock=sock, limit=MAX_HEAD)
        refused = any("address guard" in problem for problem in problems)
        raise _Refused(403 if refused else 502, f"{name}:{port}: " + ("; ".join(problems) or "no address"))

    async def _addresses(self, host: str, port: int) -> list[tuple[int, int, int, str, tuple[str, int]]]:
        """``getaddrinfo``-shaped entries for ``host`` (the test resolver's answers when one is set)."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 0, "", (host, port))]
        try:
            if self._resolver is not None:
                found = await self._resolver.resolve(host, port, family=socket.AF_UNSPEC)
                return [(r["family"], socket.SOCK_STREAM, 0, "", (r["host"], port)) for r in found]
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise _Refused(502, f"{host} could not be resolved") from exc
        return [(int(f), int(t), p, c, (str(a[0]), port)) for f, t, p, c, a in infos]


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError as exc:
        raise _Refused(400, "not an HTTP request") from exc
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise _Refused(400, "malformed header")
            headers.append((name.strip(), value.strip()))
    return method.upper(), target, version, headers


def _authority(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise _Refused(400, "CONNECT needs host:port")
    return host.strip("[]"), int(port)


def _absolute(target: str, allow: tuple[Network, ...]) -> URL:
    """The checked URL of a plain request; only absolute ``http://`` targets are carried."""
    try:
        url = URL(target)
    except (ValueError, TypeError) as exc:
        raise _Refused(400, "unusable request target") from exc
    if url.scheme != "http" or not url.is_absolute():
        raise _Refused(400, "only absolute http:// requests and CONNECT are carried")
    try:
        return check_url(url, allow)
    except BlockedURLError as exc:
        raise _Refused(403, exc.user_message) from exc


def _request_head(method: str, url: URL, version: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {url.raw_path_qs or '/'} {version}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in _HOP_HEADERS]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _closing_response(head: bytes) -> bytes:
    """The upstream's response head with ``Connection: close`` (the client must not reuse the socket)."""
    lines = head.decode("latin-1").split("\r\n")
    kept = [lines[0]] + [
        line for line in lines[1:] if line and line.partition(":")[0].strip().lower() not in _HOP_HEADERS
    ]
    return ("\r\n".join([*kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")


def _answer(status: int, reason: str) -> bytes:
    body = f"AudioFetch render proxy: {reason}\n".encode("utf-8", "replace")
    head = f"HTTP/1.1 {status} Refused\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side."""
    with contextlib.suppress(ConnectionError, OSError):
        while piece := await reader.read(_PIPE_CHUNK):
            writer.write(piece)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """A tunnel: both directions until both ends are done (one side's error ends both)."""
    await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))
