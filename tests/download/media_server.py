"""Helpers for the download tests: a real aiohttp media server whose tracks misbehave on demand."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.download import RetryPolicy

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis"
FAST_RETRIES = RetryPolicy(retries=3, base_delay=0.01, max_delay=0.05)


def settings(**overrides: Any) -> Settings:
    return Settings(allow_networks=parse_networks("127.0.0.0/8"), retries=3, **overrides)


def payload(seed: int, size: int, magic: bytes = ID3) -> bytes:
    return magic + random.Random(seed).randbytes(size - len(magic))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Seen:
    path: str
    range: str | None
    at: float
    status: int = 0
    referer: str | None = None
    accept_encoding: str | None = None


@dataclass
class MediaServer:
    """Files by name, each with a behaviour; ``seen`` logs every request in order."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    content_type: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def add(self, name: str, data: bytes, behaviour: str = "ok", content_type: str = "audio/mpeg") -> str:
        self.files[name] = data
        self.behaviour[name] = behaviour
        self.content_type[name] = content_type
        return f"{self.base}/{name}"

    def requests_for(self, name: str) -> list[Seen]:
        return [s for s in self.seen if s.path == name]


def _app(server: MediaServer) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.path.lstrip("/")
        if request.query_string:
            name = f"{name}?{request.query_string}"
        headers = request.headers
        record = Seen(
            name,
            headers.get("Range"),
            time.monotonic(),
            0,
            headers.get("Referer"),
            headers.get("Accept-Encoding"),
        )
        server.seen.append(record)
        return await serve(request, name, record)

    async def serve(request: web.Request, name: str, record: Seen) -> web.StreamResponse:
        if name not in server.files:
            record.status = 404
            raise web.HTTPNotFound()
        data, mode = server.files[name], server.behaviour[name]
        first = len(server.requests_for(name)) == 1
        if mode == "503-once" and first:
            record.status = 503
            raise web.HTTPServiceUnavailable()
        if mode == "429-once" and first:
            record.status = 429
            raise web.HTTPTooManyRequests(headers={"Retry-After": "1"})
        if mode == "html":
            return web.Response(
                text="<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html"
            )
        honour_range = mode not in ("norange", "drop-norange")
        start = 0
        if honour_range and request.http_range.start is not None:
            start = request.http_range.start
        body = data[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = server.content_type[name]
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if mode != "nolength":
            response.content_length = len(body)
        if honour_range:
            response.headers["Accept-Ranges"] = "bytes"
        record.status = response.status
        await response.prepare(request)
        if mode == "stall-once" and first:
            await response.write(body[: len(body) // 2])
            await asyncio.sleep(1.0)  # the client's read timeout is shorter: it gives up and resumes
            return response
        if mode.startswith("drop") and first:
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        if mode in ("slow", "paced"):
            step = 4096 if mode == "slow" else 64 * 1024
            for offset in range(0, len(body), step):
                await response.write(body[offset : offset + step])
                await asyncio.sleep(0.05 if mode == "slow" else 0.01)
            return response
        for offset in range(0, len(body), 256 * 1024):
            await response.write(body[offset : offset + 256 * 1024])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


async def start_media_server(aiohttp_server: Any) -> MediaServer:
    server = MediaServer()
    running = await aiohttp_server(_app(server))
    server.base = str(running.make_url("")).rstrip("/")
    return server
