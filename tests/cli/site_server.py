"""A small web site on 127.0.0.1, served from a background thread so a CLI subprocess can fetch from it.

The CLI runs in its own process and event loop; the tests stay synchronous. Pages and audio files are
registered before the run; every request is logged (path and Range) in arrival order.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
from dataclasses import dataclass, field

from aiohttp import web

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis"
FLAC = b"fLaC\x00\x00\x00\x22"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"
MAGIC = {"mp3": ID3, "ogg": OGG, "flac": FLAC, "wav": WAV, "m4a": M4A}


def payload(seed: int, size: int, magic: bytes = ID3) -> bytes:
    """Bytes that start like an audio file of the given kind, then seeded noise."""
    return magic + random.Random(seed).randbytes(size - len(magic))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Resource:
    body: bytes
    content_type: str
    behaviour: str = "ok"


@dataclass
class Site:
    """Resources by path; ``seen`` lists ``(path, Range header)`` for every request, in order."""

    resources: dict[str, Resource] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    def page(self, path: str, html: str) -> str:
        self.resources[path] = Resource(html.encode(), "text/html; charset=utf-8")
        return self.url(path)

    def file(self, path: str, body: bytes, *, content_type: str = "audio/mpeg", behaviour: str = "ok") -> str:
        """Serve ``body`` at ``path``; behaviour ``slow`` paces it in small pieces."""
        self.resources[path] = Resource(body, content_type, behaviour)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def paths_seen(self) -> list[str]:
        return [path for path, _ in list(self.seen)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path, request.headers.get("Range")))
        resource = self.resources.get(request.path)
        if resource is None:
            raise web.HTTPNotFound()
        start = (request.http_range.start or 0) if "Range" in request.headers else 0
        body = resource.body[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = resource.content_type.split(";")[0]
        if "charset=" in resource.content_type:
            response.charset = resource.content_type.rsplit("=", 1)[1]
        response.content_length = len(body)
        response.headers["Accept-Ranges"] = "bytes"
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(resource.body) - 1}/{len(resource.body)}"
        await response.prepare(request)
        step = 8192 if resource.behaviour == "slow" else 256 * 1024
        for offset in range(0, len(body), step):
            await response.write(body[offset : offset + step])
            if resource.behaviour == "slow":
                await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            host, port = self._runner.addresses[0][:2]
            self.base = f"http://{host}:{port}"

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="test-site", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the test site did not start"

    def stop(self) -> None:
        assert self._loop is not None and self._runner is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def album_page(title: str, tracks: list[tuple[str, str]]) -> str:
    """An HTML page with one ``<audio src>`` per ``(title, url)``, each under its own heading."""
    items = "\n".join(
        f'<section><h2>{name}</h2><audio controls src="{url}"></audio></section>' for name, url in tracks
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{items}</body></html>"
    )
