"""What the extension test drives: a local album site, an ``audiofetch serve`` subprocess, and Debian's
Chromium with the extension loaded through Playwright.

The browser toolbar and context menu are out of Playwright's reach, so the test calls the very handlers
those UI events call (``handleAction(tab)``, ``handleContextMenu(info, tab)``) inside the extension's
service worker, with the tab objects Chromium itself returns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.conftest import free_port
from tests.e2e.harness import serve
from tests.kit.browser import CHROMIUM as CHROMIUM
from tests.kit.browser import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
EXTENSION_DIR = REPO / "extension"
TRACK = b"ID3\x04\x00\x00\x00\x00\x00\x00" + random.Random(7).randbytes(30_000)
MENU_ID = "audiofetch-send-link"


def ipv6_loopback() -> bool:
    """Whether ``::1`` can be listened on here."""
    try:
        free_port("::1")
    except OSError:
        return False
    return True


def extension_id() -> str:
    """The Chromium id fixed by the manifest's ``key``: SHA-256 of the public key, hex digits as a-p."""
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    return "".join(chr(ord("a") + int(digit, 16)) for digit in digest)


def chromium_args() -> list[str]:
    """``--headless=new`` runs extensions; Playwright's own headless flag would pick the old mode."""
    return [
        "--headless=new",
        *CHROMIUM_ARGS,
        f"--disable-extensions-except={EXTENSION_DIR}",
        f"--load-extension={EXTENSION_DIR}",
    ]


def album_site() -> web.Application:
    """Two one-track album pages, a page linking to the second, and the track itself."""

    def album(title: str) -> str:
        return (
            f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
            f'<h1>{title}</h1><audio controls src="/media/{title.lower()}.mp3"></audio></body></html>'
        )

    pages = {
        "/first": album("First"),
        "/second": album("Second"),
        "/links": '<!DOCTYPE html><html><body><a id="second" href="/second">Second album</a></body></html>',
    }

    async def page(request: web.Request) -> web.Response:
        if request.path not in pages:
            raise web.HTTPNotFound()
        return web.Response(text=pages[request.path], content_type="text/html")

    async def track(request: web.Request) -> web.Response:
        return web.Response(body=TRACK, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/media/{name}", track)
    app.router.add_get("/{name}", page)
    return app


@asynccontextmanager
async def audiofetch_server(data_dir: Path, cors_origins: str, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """The server the extension talks to, with ``cors_origins`` listed (the extension's origin)."""
    async with serve(data_dir, {"AUDIOFETCH_CORS_ORIGINS": cors_origins}, host) as base:
        yield base


def tracks_known(job: dict[str, Any]) -> bool:
    """The job's page was analysed (its tracks are known) or the job ended: ``kit.wait``'s ``until``."""
    return bool(job["tracks"]) or not job["active"]
