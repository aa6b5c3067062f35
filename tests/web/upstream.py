"""A local "upstream" site for the end-to-end tests: an album page and its tracks, gated on demand.

Tracks answer ``Range: bytes=N-`` requests (206) so a resumed download can be told from a fresh one,
and a track can be held back until the test opens its gate. Every request is logged in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass, field

from aiohttp import web

ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"


def payload(seed: int, size: int) -> bytes:
    """Track bytes that look like an MP3 (ID3 header) followed by seeded noise."""
    return ID3 + random.Random(seed).randbytes(size - len(ID3))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Upstream:
    """Pages by path, tracks by file name; ``gates`` hold a track's body until set."""

    pages: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, bytes] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def album(self, path: str, names_and_sizes: list[tuple[str, int]], title: str = "Harbour Songs") -> None:
        items = []
        for seed, (name, size) in enumerate(names_and_sizes, start=1):
            self.tracks[name] = payload(seed, size)
            items.append(
                f'<section><h2>{name[:-4]}</h2><audio controls src="/audio/{name}"></audio></section>'
            )
        body = "\n".join(items)
        self.pages[path] = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{body}</body></html>"
        )

    def requests_for(self, name: str) -> list[str | None]:
        return [rng for path, rng in self.seen if path == f"/audio/{name}"]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/audio/{name}", self._track)
        app.router.add_get("/{page:.*}", self._page)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        self.seen.append((request.path, None))
        html = self.pages.get(request.path)
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    async def _track(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.seen.append((request.path, request.headers.get("Range")))
        data = self.tracks.get(name)
        if data is None:
            raise web.HTTPNotFound()
        start = 0
        status = 200
        wanted = request.headers.get("Range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-") and wanted[6:-1].isdigit():
            start, status = int(wanted[6:-1]), 206
        response = web.StreamResponse(status=status)
        response.content_type = "audio/mpeg"
        response.content_length = len(data) - start
        response.headers["Accept-Ranges"] = "bytes"
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        gate = self.gates.get(name)
        half = start + (len(data) - start) // 2
        await response.write(data[start:half])
        if gate is not None:
            await gate.wait()
        await response.write(data[half:])
        await response.write_eof()
        return response
