"""Network pieces for the hardening tests: a DNS table, a dial tripwire, counting and hostile servers.

Everything here listens on loopback only. The tripwire replaces the event loop's ``sock_connect`` so that a
connect to anything but loopback fails in the test process itself, before a packet could leave; it also
records every dial, so a test can say "nothing was dialled at all".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.kit.site import ID3 as ID3


def audio(size: int, fill: bytes = b"\x11") -> bytes:
    """Bytes that sniff as MP3 (an ID3 header), ``size`` long."""
    return ID3 + fill * (size - len(ID3))


@functools.cache
def gzip_bomb(expanded: int, prefix: bytes = b"") -> bytes:
    """``prefix`` plus ``expanded`` zero bytes, gzip-compressed (32 MiB shrink to about 32 KiB)."""
    return gzip.compress(prefix + b"\0" * expanded, compresslevel=6)


def is_loopback(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).partition("%")[0]).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def dial_tripwire() -> AsyncIterator[list[Any]]:
    """Record every connect the loop makes; refuse non-loopback ones in-process (nothing leaves)."""
    loop = asyncio.get_running_loop()
    dialled: list[Any] = []
    real_connect = loop.sock_connect

    async def tripwire(sock: socket.socket, address: Any) -> None:
        dialled.append(address)
        if not is_loopback(address):
            raise OSError("tripwire: the test refused a non-loopback connect")
        await real_connect(sock, address)

    loop.sock_connect = tripwire  # type: ignore[method-assign]
    try:
        yield dialled
    finally:
        loop.sock_connect = real_connect  # type: ignore[method-assign]


@dataclass
class Listener:
    """A raw TCP listener on loopback that counts connections and handles them with ``behaviour``.

    Behaviours: ``"answer"`` (a small HTML page), ``"silent"`` (accept, read, never answer).
    """

    host: str = "127.0.0.1"
    behaviour: str = "answer"
    connections: int = 0
    closed: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> Listener:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{shown}:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            if self.behaviour == "answer":
                await reader.readuntil(b"\r\n\r\n")
                body = b"<html><title>secret</title><audio src='/a.mp3'></audio></html>"
                head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
            while await reader.read(65536):  # silent: swallow the request, say nothing
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def listening(host: str = "127.0.0.1", behaviour: str = "answer") -> AsyncIterator[Listener]:
    listener = await Listener(host, behaviour).start()
    try:
        yield listener
    finally:
        await listener.close()


async def eventually(condition: Callable[[], bool], *, tries: int = 400, pause: float = 0.02) -> bool:
    """Poll ``condition`` until true (True) or the tries run out (False): no timing is asserted."""
    for _ in range(tries):
        if condition():
            return True
        await asyncio.sleep(pause)
    return condition()


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True
