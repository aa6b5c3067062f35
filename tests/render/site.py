"""The render pass's test site: pages that only have their tracks once their scripts run.

``/render/NAME.html`` serves ``tests/render/pages/NAME.html``; audio answers under ``/render/audio/``,
``/render/media/`` and ``/render/tape/`` (an ID3 header then a pattern; the click page's tracks only
with its script's cookie and the page as Referer). ``PAGES`` holds each page's exact expected tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.kit.site import ID3 as ID3

PAGES_DIR = Path(__file__).parent / "pages"

# page -> [(path of the track URL, title)], in page order
PAGES: dict[str, list[tuple[str, str]]] = {
    "playlist": [
        ("/render/audio/morning-light.mp3", "Morning Light"),
        ("/render/audio/harbour.mp3", "Harbour"),
        ("/render/audio/tide-tables.mp3", "Tide Tables"),
    ],
    "click": [
        ("/render/audio/click-1.mp3", "First Light"),
        ("/render/audio/click-2.mp3", "Second Wind"),
        ("/render/audio/click-3.mp3", "Third Rail"),
    ],
    "shadow": [
        ("/render/media/glass.ogg", "Glass"),
        ("/render/media/stone.ogg", "Stone"),
        ("/render/media/paper.ogg", "Paper"),
    ],
    "lazy": [
        ("/render/tape/side-a.m4a", "Side A"),
        ("/render/tape/side-b.m4a", "Side B"),
    ],
}
PLAYLIST = {
    "base": "/render/audio/",
    "tracks": [
        {"file": "morning-light.mp3", "name": "Morning Light"},
        {"file": "harbour.mp3", "name": "Harbour"},
        {"file": "tide-tables.mp3", "name": "Tide Tables"},
    ],
}


def audio_bytes(name: str, size: int = 20_000) -> bytes:
    pattern = name.encode() * (size // max(len(name), 1) + 1)
    return (ID3 + pattern)[:size]


@dataclass
class RenderSite:
    """The site; ``audio_requests`` lists (path, Cookie, Referer) of every audio request."""

    audio_requests: list[tuple[str, str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/render/api/playlist.json", self._playlist)
        app.router.add_get("/render/{kind:audio|media|tape}/{name}", self._audio)
        app.router.add_get("/render/{page}.html", self._page)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        path = PAGES_DIR / f"{request.match_info['page']}.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=path.read_text(encoding="utf-8"), content_type="text/html")

    async def _playlist(self, request: web.Request) -> web.Response:
        return web.json_response(PLAYLIST)

    async def _audio(self, request: web.Request) -> web.Response:
        cookie, referer = request.headers.get("Cookie", ""), request.headers.get("Referer", "")
        self.audio_requests.append((request.path, cookie, referer))
        name = request.match_info["name"]
        if name.startswith("click-") and (
            "listener=night-owl" not in cookie or "/render/click" not in referer
        ):
            raise web.HTTPForbidden(text="this player only plays for its own page")
        kind = (
            "audio/ogg" if name.endswith(".ogg") else "audio/mp4" if name.endswith(".m4a") else "audio/mpeg"
        )
        return web.Response(body=audio_bytes(name), content_type=kind)
