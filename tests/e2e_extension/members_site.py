"""A members' site for the "send this page as I see it" tests, built the way such sites are.

- ``/login`` sets the session cookie and sends the browser on to ``?next=`` (``/album`` by default).
- ``/album`` and ``/members`` are shells whose inline script asks ``/api/playlist`` (session cookie
  required) for the tracks and builds the list: links in an ``<ol>``, one track inside an open shadow
  root (``<audio preload=none>``, so the browser does not load it), and on ``/album`` a preview the
  script only ``fetch``es (so it is nowhere in the DOM, only in what the browser requested).
  Fetched without the cookie, as AudioFetch would fetch them, they hold no track at all.
- ``/tracks/NAME.mp3`` are public; ``/private/NAME.mp3`` answer 403 without the session cookie.
- ``/mixed`` (no login) links one public track and one on ``private_base`` (a host the guard refuses).
Every request is recorded (path, Cookie header, User-Agent) in ``MembersSite.requests``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from aiohttp import web

SESSION = "members_session"
BROWSER_ONLY = "data-loaded"


AUDIO_BYTES = 20_000


def track_bytes(name: str) -> bytes:
    """The bytes of track ``name``: an empty ID3 header and ``AUDIO_BYTES`` that depend on the name only."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + random.Random(name).randbytes(AUDIO_BYTES)


_SHELL = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p id="state">Loading your playlist...</p>
<ol id="playlist"></ol>
<x-player id="featured"></x-player>
<script>
customElements.define("x-player", class extends HTMLElement {{
  show(track) {{
    const root = this.attachShadow({{ mode: "open" }});
    root.innerHTML = '<figure><figcaption></figcaption><audio controls preload="none"></audio></figure>';
    root.querySelector("figcaption").textContent = track.title;
    root.querySelector("audio").setAttribute("src", track.url);
  }}
}});
fetch("/api/playlist?kind={kind}", {{ credentials: "same-origin" }})
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
  .then(async (list) => {{
    const ol = document.getElementById("playlist");
    for (const track of list.links) {{
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = track.url;
      a.textContent = track.title;
      li.append(a);
      ol.append(li);
    }}
    document.getElementById("featured").show(list.featured);
    if (list.preview) await (await fetch(list.preview)).arrayBuffer();
    document.getElementById("state").textContent = "Your playlist";
    document.body.dataset.loaded = "true";
  }}, () => {{
    document.getElementById("state").textContent = "Log in to see your playlist.";
    document.body.dataset.loaded = "denied";
  }});
</script>
</body></html>
"""


@dataclass
class MembersSite:
    """The site; ``secret`` is the session cookie's value, ``private_base`` the refused host's URL,
    ``base`` the site's own (set once it is served)."""

    secret: str
    private_base: str = ""
    base: str = ""
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def album(self, kind: str) -> dict[str, object]:
        """What ``/api/playlist`` answers: public tracks for ``album``, cookie-only ones for ``members``."""
        folder = "tracks" if kind == "album" else "private"
        return {
            "links": [
                {"url": f"/{folder}/{kind}-1.mp3", "title": "Opening"},
                {"url": f"/{folder}/{kind}-2.mp3", "title": "Middle"},
            ],
            "featured": {"url": f"/{folder}/{kind}-3.mp3", "title": "Featured"},
            "preview": f"/{folder}/{kind}-preview.mp3" if kind == "album" else None,
        }

    def expected(self, kind: str) -> list[bytes]:
        """The bytes of the complete album, in page order (the preview last: it is not on the page)."""
        names = [f"{kind}-1", f"{kind}-2", f"{kind}-3"] + ([f"{kind}-preview"] if kind == "album" else [])
        return [track_bytes(name) for name in names]

    def logged_in(self, request: web.Request) -> bool:
        return request.cookies.get(SESSION) == self.secret

    @web.middleware
    async def record(self, request: web.Request, handler):
        self.requests.append(
            (request.path, request.headers.get("Cookie", ""), request.headers.get("User-Agent", ""))
        )
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.record])
        app.router.add_get("/login", self._login)
        app.router.add_get("/album", self._shell("Album for members", "album"))
        app.router.add_get("/members", self._shell("Members' recordings", "members"))
        app.router.add_get("/mixed", self._mixed)
        app.router.add_get("/api/playlist", self._playlist)
        app.router.add_get("/tracks/{name}.mp3", self._track)
        app.router.add_get("/private/{name}.mp3", self._private)
        return app

    async def _login(self, request: web.Request) -> web.Response:
        response = web.HTTPFound(request.query.get("next", "/album"))
        response.set_cookie(SESSION, self.secret, httponly=True, samesite="Lax", path="/")
        raise response

    def _shell(self, title: str, kind: str):
        async def page(request: web.Request) -> web.Response:
            return web.Response(text=_SHELL.format(title=title, kind=kind), content_type="text/html")

        return page

    async def _mixed(self, request: web.Request) -> web.Response:
        html = (
            "<!DOCTYPE html><html><head><title>Mixed</title></head><body><ul>"
            '<li><a href="/tracks/mixed-1.mp3">Public song</a></li>'
            f'<li><a href="{self.private_base}/secret.mp3">Intranet song</a></li>'
            '</ul><script>document.body.dataset.loaded = "true";</script></body></html>'
        )
        return web.Response(text=html, content_type="text/html")

    async def _playlist(self, request: web.Request) -> web.Response:
        if not self.logged_in(request):
            return web.json_response({"error": "log in"}, status=401)
        return web.Response(
            text=json.dumps(self.album(request.query["kind"])), content_type="application/json"
        )

    async def _track(self, request: web.Request) -> web.Response:
        return web.Response(body=track_bytes(request.match_info["name"]), content_type="audio/mpeg")

    async def _private(self, request: web.Request) -> web.Response:
        if not self.logged_in(request):
            return web.Response(status=403, text="members only")
        return web.Response(body=track_bytes(request.match_info["name"]), content_type="audio/mpeg")
