"""The second audit's kit: a misbehaving site, the real server as a child process, separate browsers.

The site runs in the test process on 127.0.0.1; the server is ``python -m audiofetch serve`` in its own
process (``tests/hardening_api/serverproc.py``), so every attack goes through real sockets between real
processes. A ``Browser`` is one aiohttp session with its own cookie jar, sending what a browser sends on
same-origin requests, optionally from another loopback address (127.0.0.2), which the server then sees
as another network address.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.conftest import free_port
from tests.hardening_api.serverproc import admin_token, server_env, start_server, stop, wait_until_up
from tests.kit.site import ID3 as ID3
from tests.kit.wait import job_over_http

MIB = 1024 * 1024


def audio(size: int) -> bytes:
    return ID3 + b"\x11" * (size - len(ID3))


@dataclass
class Site:
    """Pages and tracks that misbehave on purpose; counts what the server took from it.

    - ``/tiny``: one small track.  ``/album?n=N&kind=K``: N tracks of kind ``drip`` (one byte every
      ``drip_pause`` s of a file announced as 1 MiB), ``big`` (``big_size`` bytes sent as fast as the
      server reads them), ``ok`` (20 kB), ``small`` (300 bytes) or ``missing`` (404).
    - ``/slowpage``: a page that answers only when ``release_pages`` is set.
    """

    drip_pause: float = 0.2
    big_size: int = 64 * MIB
    open_drips: int = 0
    most_drips: int = 0
    big_sent: int = 0
    release_pages: asyncio.Event = field(default_factory=asyncio.Event)
    slow_waiting: int = 0
    port: int = 0
    runner: web.AppRunner | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/tiny", self._tiny)
        app.router.add_get("/album", self._album)
        app.router.add_get("/slowpage", self._slow_page)
        app.router.add_get("/t/{kind}/{n}.mp3", self._track)
        app.router.add_get("/attack.html", self._attack)
        return app

    async def _tiny(self, request: web.Request) -> web.Response:
        return _page('<audio src="/t/ok/1.mp3" title="Tiny"></audio>')

    async def _album(self, request: web.Request) -> web.Response:
        count, kinds = int(request.query.get("n", "3")), request.query.get("kind", "ok").split(",")
        tracks = "".join(
            f'<audio src="/t/{kinds[i % len(kinds)]}/{i + 1}.mp3" title="Song {i + 1}"></audio>'
            for i in range(count)
        )
        return _page(tracks, title=request.query.get("title", "Album"))

    async def _slow_page(self, request: web.Request) -> web.Response:
        self.slow_waiting += 1
        try:
            await self.release_pages.wait()
        finally:
            self.slow_waiting -= 1
        return await self._tiny(request)

    async def _attack(self, request: web.Request) -> web.Response:
        target = request.query["target"]
        return web.Response(
            text=f'<!doctype html><title>Attack</title><img src="{target}" alt="x">'
            f'<a id="go" href="{target}">a link</a>',
            content_type="text/html",
        )

    async def _track(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind == "missing":
            raise web.HTTPNotFound()
        if kind == "ok":
            return web.Response(body=audio(20_000), content_type="audio/mpeg")
        if kind == "small":
            return web.Response(body=audio(300), content_type="audio/mpeg")
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        if kind == "drip":
            response.content_length = MIB
            await response.prepare(request)
            self.open_drips += 1
            self.most_drips = max(self.most_drips, self.open_drips)
            try:
                await response.write(ID3)
                while True:
                    await asyncio.sleep(self.drip_pause)
                    await response.write(b"\x11")
            finally:
                self.open_drips -= 1
        response.content_length = self.big_size
        await response.prepare(request)
        block = audio(256 * 1024)
        sent = 0
        while sent < self.big_size:
            piece = block[: self.big_size - sent]
            await response.write(piece)
            sent += len(piece)
            self.big_sent += len(piece)
        await response.write_eof()
        return response

    async def start(self) -> Site:
        self.runner = web.AppRunner(self.app(), shutdown_timeout=0.5)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def close(self) -> None:
        self.release_pages.set()
        if self.runner is not None:
            await self.runner.cleanup()


def _page(body: str, title: str = "Page") -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>",
        content_type="text/html",
    )


@dataclass
class Server:
    """The running ``audiofetch serve``: its base URL and data folder."""

    base: str
    port: int
    data: Path
    log: Path

    def admin(self) -> str:
        return admin_token(self.base)


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, **env: str) -> AsyncIterator[Server]:
    """Start the real server on 127.0.0.1 with ``AUDIOFETCH_ALLOW_NETWORKS=127.0.0.0/8`` and ``env``."""
    port = free_port()
    data, log = tmp_path / "data", tmp_path / "server.log"
    environment = server_env(data, port, allow_networks="127.0.0.0/8", **env)
    proc = start_server(environment, log)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_up, base, proc, log)
        yield Server(base, port, data, log)
    finally:
        await asyncio.to_thread(stop, proc)


class Browser:
    """One visitor: its own cookies, browser headers, optionally its own loopback source address."""

    def __init__(self, base: str, *, address: str = "127.0.0.1") -> None:
        self.base = base
        connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Origin": base, "Sec-Fetch-Site": "same-origin"},
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(method, self.base + path, **kwargs) as response:
            kind = response.content_type
            body = await (response.json() if kind == "application/json" else response.text())
            return response.status, body

    async def submit(self, url: str, **fields: Any) -> tuple[int, Any]:
        return await self.json("POST", "/api/download", json={"url": url, **fields})

    async def job(self, job_id: str, *statuses: str) -> dict[str, Any]:
        """The job as this visitor sees it once it ended or reached one of ``statuses`` (kit.wait)."""
        return await job_over_http(self.session, job_id, *statuses, base=self.base)

    async def close(self) -> None:
        await self.session.close()


@contextlib.asynccontextmanager
async def browsers(base: str, *addresses: str) -> AsyncIterator[list[Browser]]:
    made = [Browser(base, address=address) for address in addresses]
    try:
        yield made
    finally:
        for browser in made:
            await browser.close()


@contextlib.asynccontextmanager
async def site() -> AsyncIterator[Site]:
    made = await Site().start()
    try:
        yield made
    finally:
        await made.close()
