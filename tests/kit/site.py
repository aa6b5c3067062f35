"""The one fake web site of the tests: pages and audio files on 127.0.0.1 that misbehave on demand.

``MediaSite`` serves what a test put in it and logs every request (``requests``, in arrival order). It runs
in the test's loop (``await site.serve(aiohttp_server)``) or, for a CLI child process, in a thread of its
own (``start()``/``stop()``). A file's behaviour:

- ``ok``: honours ``Range: bytes=N-`` (206); ``norange``: always the whole body, no Accept-Ranges.
- ``503-once``/``429-once`` (Retry-After: 1): the first request is refused.
- ``html``: a login page instead of the file.  ``nolength``: no Content-Length.
- ``stall-once``: the first answer stops half-way for a second.  ``drop``/``drop-norange``: the first answer
  is cut half-way.  ``slow``/``paced``: 4 KiB every 50 ms / 64 KiB every 10 ms.
- a gate (``gates[path]``) holds a file half-way until the test sets it.

Suites that know the site by other names (``Upstream``, the tag tests' site, the download tests'
``MediaServer``, the CLI's ``Site``) are thin views over this class.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis"
FLAC = b"fLaC\x00\x00\x00\x22"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"
MAGIC = {"mp3": ID3, "ogg": OGG, "flac": FLAC, "wav": WAV, "m4a": M4A}
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "png": "image/png",
    "jpg": "image/jpeg",
}
CHUNK = 256 * 1024


def payload(seed: int, size: int, magic: bytes = ID3) -> bytes:
    """Bytes that start like an audio file of the given kind, then seeded noise."""
    return magic + random.Random(seed).randbytes(size - len(magic))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def served(aiohttp_server: Any, app: web.Application | Handler, route: str = "/{tail:.*}") -> str:
    """Run ``app`` (or one GET ``route`` answered by a handler) on pytest-aiohttp's ``aiohttp_server`` on
    127.0.0.1; its base URL, without the trailing slash."""
    if not isinstance(app, web.Application):
        handler, app = app, web.Application()
        app.router.add_get(route, handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


def album_page(title: str, tracks: list[tuple[str, str]]) -> str:
    """An HTML page with one ``<audio src>`` per ``(title, url)``, each under its own heading."""
    items = "\n".join(
        f'<section><h2>{name}</h2><audio controls src="{url}"></audio></section>' for name, url in tracks
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{items}</body></html>"
    )


@dataclass
class Seen:
    """One request: its path (with the query when a file was registered with one) and what it sent."""

    path: str
    range: str | None
    at: float
    status: int = 0
    referer: str | None = None
    accept_encoding: str | None = None


@dataclass
class MediaSite:
    """Pages (HTML text) and files (bytes) by path, each file with a behaviour, type and optional gate."""

    base: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    content_type: dict[str, str] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    default_behaviour: str = "ok"
    _thread: tuple[asyncio.AbstractEventLoop, web.AppRunner, threading.Thread] | None = None

    # -- what a test puts in ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def page(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url(path)

    def file(self, path: str, body: bytes, *, content_type: str | None = None, behaviour: str = "ok") -> str:
        self.files[path] = body
        self.behaviour[path] = behaviour
        if content_type is not None:
            self.content_type[path] = content_type
        return self.url(path)

    # -- what a test reads back ------------------------------------------------------------------------

    def requests_at(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    def paths_seen(self) -> list[str]:
        return [seen.path for seen in list(self.requests)]

    # -- serving ---------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        return app

    async def serve(self, aiohttp_server: Any) -> MediaSite:
        """Run in the test's loop on pytest-aiohttp's ``aiohttp_server``; sets ``base``."""
        self.base = await served(aiohttp_server, self.app())
        return self

    def _key(self, request: web.Request) -> str:
        with_query = f"{request.path}?{request.query_string}"
        return with_query if request.query_string and with_query in self.files else request.path

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        key = self._key(request)
        headers = request.headers
        seen = Seen(
            key,
            headers.get("Range"),
            time.monotonic(),
            0,
            headers.get("Referer"),
            headers.get("Accept-Encoding"),
        )
        self.requests.append(seen)
        if key in self.pages:
            seen.status = 200
            return web.Response(text=self.pages[key], content_type="text/html")
        if key not in self.files:
            seen.status = 404
            raise web.HTTPNotFound()
        return await self._send(request, key, seen)

    def _gate(self, key: str) -> asyncio.Event | None:
        return self.gates.get(key)

    def _type(self, key: str) -> str:
        found = self.content_type.get(key)
        return found or CONTENT_TYPES.get(key.rsplit(".", 1)[-1].split("?")[0], "audio/mpeg")

    async def _send(self, request: web.Request, key: str, seen: Seen) -> web.StreamResponse:
        data, mode = self.files[key], self.behaviour.get(key, self.default_behaviour)
        first = len(self.requests_at(key)) == 1
        if mode == "503-once" and first:
            seen.status = 503
            raise web.HTTPServiceUnavailable()
        if mode == "429-once" and first:
            seen.status = 429
            raise web.HTTPTooManyRequests(headers={"Retry-After": "1"})
        if mode == "html":
            return web.Response(
                text="<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html"
            )
        honour_range = mode not in ("norange", "drop-norange")
        start = (request.http_range.start or 0) if honour_range and "Range" in request.headers else 0
        body = data[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = self._type(key)
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if mode != "nolength":
            response.content_length = len(body)
        if honour_range:
            response.headers["Accept-Ranges"] = "bytes"
        seen.status = response.status
        await response.prepare(request)
        half = len(body) // 2
        if (mode == "stall-once" or mode.startswith("drop")) and first:
            await response.write(body[:half])
            if mode == "stall-once":
                await asyncio.sleep(1.0)  # the client's read timeout is shorter: it gives up and resumes
            else:
                assert request.transport is not None
                request.transport.close()
            return response
        gate = self._gate(key)
        if gate is not None:
            await response.write(body[:half])
            await gate.wait()
            body = body[half:]
        step, pause = {"slow": (4096, 0.05), "paced": (64 * 1024, 0.01)}.get(mode, (CHUNK, 0.0))
        for offset in range(0, len(body), step):
            await response.write(body[offset : offset + step])
            if pause:
                await asyncio.sleep(pause)
        await response.write_eof()
        return response

    # -- in a thread of its own, for a CLI child process -----------------------------------------------

    def start(self) -> None:
        """Serve from a background thread with its own loop (the test itself stays synchronous)."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), access_log=None)

        async def serve() -> None:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            host, port = runner.addresses[0][:2]
            self.base = f"http://{host}:{port}"

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            ready.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=run, name="test-site", daemon=True)
        self._thread = (loop, runner, thread)
        thread.start()
        assert ready.wait(10), "the test site did not start"

    def stop(self) -> None:
        assert self._thread is not None
        loop, runner, thread = self._thread
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
