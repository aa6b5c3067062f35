"""What the page tests drive: a local album site, an ``audiofetch serve`` subprocess and Debian's Chromium.

The album site makes pages on demand: ``/album/NAME.html?n=3&size=40000&pace=5&hold=1`` lists ``n``
tracks of ``size`` bytes, sent in 8 KiB chunks ``pace`` ms apart; with ``hold=1`` each track stops half
way until the test calls ``site.release(NAME)`` (``hold=N`` for N > 1: only track N does). Indexes in
``site.missing[NAME]`` answer 404 (a test removes them to let a retry succeed). Track bytes are a pure
function of (name, index, size), so a test can check a ZIP entry against ``track_bytes``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sys
import zipfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import free_port
from tests.hardening_api.serverproc import ADMIN_PASSWORD as ADMIN_PASSWORD
from tests.hardening_api.serverproc import process, wait_until_up
from tests.kit.site import ID3 as ID3

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHUNK = 8192


def track_bytes(name: str, index: int, size: int) -> bytes:
    """The bytes of track ``index`` of album ``name``: an ID3 header, then a SHA-256 counter stream."""
    out = bytearray(ID3)
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}/{index}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def track_title(index: int) -> str:
    return f"Song {index}"


@dataclass
class AlbumSite:
    """The upstream site; ``release(name)`` lets held tracks of that album finish."""

    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    missing: dict[str, set[int]] = field(default_factory=dict)

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def release(self, name: str) -> None:
        self.gate(name).set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/album/{name}.html", self._page)
        app.router.add_get("/empty.html", self._empty)
        app.router.add_get("/audio/{name}/{index:\\d+}.mp3", self._track)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        count = int(request.query.get("n", "3"))
        query = request.query_string
        items = "".join(
            f"<section><h2>{track_title(i)}</h2>"
            f'<audio controls src="/audio/{name}/{i}.mp3?{query}"></audio></section>'
            for i in range(1, count + 1)
        )
        html = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Album {name}</title></head>"
            f"<body><h1>Album {name}</h1>{items}</body></html>"
        )
        return web.Response(text=html, content_type="text/html")

    async def _empty(self, request: web.Request) -> web.Response:
        return web.Response(
            text="<!DOCTYPE html><html><body><p>No sound here.</p></body></html>", content_type="text/html"
        )

    async def _track(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        index = int(request.match_info["index"])
        if index in self.missing.get(name, set()):
            raise web.HTTPNotFound()
        size = int(request.query.get("size", "40000"))
        pace = int(request.query.get("pace", "0")) / 1000
        data = track_bytes(name, index, size)
        response = web.StreamResponse()
        response.content_type = "audio/mpeg"
        response.content_length = len(data)
        await response.prepare(request)
        half = len(data) // 2
        for start in range(0, len(data), CHUNK):
            hold = int(request.query.get("hold", "0"))
            if (hold == 1 or hold == index > 1) and start <= half < start + CHUNK:
                await self.gate(name).wait()
            await response.write(data[start : start + CHUNK])
            if pace:
                await asyncio.sleep(pace)
        await response.write_eof()
        return response


@pytest.fixture
async def site(aiohttp_server: Any) -> AsyncIterator[tuple[AlbumSite, str]]:
    """The album site on a loopback port: (site, base URL); the page and proxy tests' ``site``."""
    album_site = AlbumSite()
    server = await aiohttp_server(album_site.app())
    yield album_site, f"http://127.0.0.1:{server.port}"
    for gate in album_site.gates.values():
        gate.set()  # let held tracks finish so the server closes cleanly


def album_url(site_base: str, name: str, **params: Any) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"n": 3, "size": 40000, **params}.items())
    return f"{site_base}/album/{name}.html?{query}"


@asynccontextmanager
async def serve(data_dir: Path, extra_env: Mapping[str, str], host: str = "127.0.0.1") -> AsyncIterator[str]:
    """``audiofetch serve`` on a free port of loopback ``host`` with 127.0.0.0/8 allowed and the test admin
    password plus ``extra_env``; yields its base URL, stops it on exit."""
    port = free_port(host)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"audiofetch-{port}.log"
    env = {
        **os.environ,
        "AUDIOFETCH_DATA_DIR": str(data_dir),
        "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **extra_env,
    }
    args = [sys.executable, "-m", "audiofetch", "serve", "--host", host, "--port", str(port)]
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    with process(args, log, env) as proc:
        await asyncio.to_thread(wait_until_up, base, proc, log)
        yield base


@asynccontextmanager
async def audiofetch_server(data_dir: Path) -> AsyncIterator[str]:
    """The server the page tests use (a high per-client job limit: every test tab is one client)."""
    async with serve(data_dir, {"AUDIOFETCH_MAX_JOBS_PER_CLIENT": "50"}) as base:
        yield base


def zip_tracks(data: bytes) -> dict[str, bytes]:
    """The audio entries of a ZIP (a playlist beside them is left out), read back and CRC-checked."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {
            info.filename: archive.read(info) for info in archive.infolist() if info.filename.endswith(".mp3")
        }
