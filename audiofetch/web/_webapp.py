"""The installable web app: its manifest, its service worker and the share target.

- ``GET /manifest.webmanifest``: name, icons, light and dark theme colours, ``start_url``/``scope``/``id``
  under ``AUDIOFETCH_BASE_PATH``, and a GET ``share_target`` so "Share -> AudioFetch" on a phone opens
  ``/share``. Built per request from the app's router, so every URL carries the base path.
- ``GET /sw.js``: the service worker from ``static/js/sw.js``, served from the app's own path so its
  scope is the whole app. Installing needs no worker (Chromium 108 on phones, 112 on desktops; the test
  checks it), so ``notify.js`` registers it only once notifications are switched on: Android's Chrome
  shows them only through one. No fetch handler (an empty one only slows every request); it opens a
  job's page when its notification is clicked.
- ``GET /share?title=&text=&url=``: the shared page's address (from ``url``, or the first web address in
  ``text`` or ``title``: Android shares a link as text) -> 303 to ``/preview?url=...``, the form with the
  address filled in and its preview shown, rendered by the server (no script needed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from audiofetch.web._contract import MAX_URL_CHARS
from audiofetch.web._keys import SETTINGS_KEY
from audiofetch.web._paths import base_path

__all__ = ["APP_NAME", "THEME_COLORS", "manifest", "setup_webapp", "shared_url"]

APP_NAME = "AudioFetch"
# One place for the colours of the browser's frame: the manifest and the pages' theme-color metas.
# Light: the accent blue on the light page; dark: the dark page's own background.
THEME_COLORS: Mapping[str, Mapping[str, str]] = {
    "light": {"theme_color": "#2457c5", "background_color": "#f4f5f7"},
    "dark": {"theme_color": "#15171b", "background_color": "#15171b"},
}
_ICONS = (
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/icon-maskable-512.png", "512x512", "maskable"),
)
_WEB_ADDRESS = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"»”’"
_PAIRS = {")": "(", "]": "[", "}": "{"}
SW_FILE = "js/sw.js"


def _trim(url: str) -> str:
    """A web address found in prose, without the punctuation that ended the sentence around it.

    A closing bracket stays when the address opened it (``.../Song_(live)``)."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def shared_url(fields: Mapping[str, str]) -> str | None:
    """The web address a share carries: ``url``, else the first one in ``text``, else in ``title``."""
    for key in ("url", "text", "title"):
        found = _WEB_ADDRESS.search(fields.get(key, "")[: MAX_URL_CHARS * 4])
        if found is not None:
            url = _trim(found.group(0))
            if len(url) > len("https://") and len(url) <= MAX_URL_CHARS:
                return url
    return None


def _static_url(app: web.Application, filename: str) -> str:
    return str(app.router["static"].url_for(filename=filename))


def manifest(app: web.Application) -> dict[str, Any]:
    """The web app manifest of ``app``, every URL under its base path."""
    home = base_path(app) + "/"
    light, dark = THEME_COLORS["light"], THEME_COLORS["dark"]
    return {
        "id": home,
        "name": APP_NAME,
        "short_name": APP_NAME,
        "description": "Every audio track on a web page, in one go.",
        "lang": "en",
        "start_url": home,
        "scope": home,
        "display": "standalone",
        **light,
        "color_scheme_dark": dict(dark),
        "icons": [
            {"src": _static_url(app, name), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for name, sizes, purpose in _ICONS
        ],
        "share_target": {
            "action": str(app.router["webapp.share"].url_for()),
            "method": "GET",
            "enctype": "application/x-www-form-urlencoded",  # ignored for GET, but Chromium asks for it
            "params": {"title": "title", "text": "text", "url": "url"},
        },
    }


async def manifest_route(request: web.Request) -> web.Response:
    """``GET /manifest.webmanifest``."""
    return web.json_response(
        manifest(request.app),
        content_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


async def service_worker(request: web.Request) -> web.Response:
    """``GET /sw.js``: from the app's root path, so the worker's scope is the whole app."""
    path = request.app[SETTINGS_KEY].static_dir / SW_FILE
    return web.Response(
        body=path.read_bytes(),
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def share(request: web.Request) -> web.StreamResponse:
    """``GET /share``: the share target; a share without a web address gets a page that says so."""
    url = shared_url(request.query)
    if url is None:
        context = {
            "admin": False,
            "csrf_token": "",
            "message": "What was shared holds no web address (http:// or https://) to fetch audio from.",
        }
        return aiohttp_jinja2.render_template("error.html", request, context, status=400)
    # The router's URL already carries the base path (the app is mounted under it).
    raise web.HTTPSeeOther(str(request.app.router["preview"].url_for().with_query({"url": url})))


def setup_webapp(app: web.Application) -> None:
    """Register the manifest, the service worker and the share target; give templates the colours."""
    aiohttp_jinja2.get_env(app).globals["theme_colors"] = THEME_COLORS
    app.router.add_get("/manifest.webmanifest", manifest_route, name="webapp.manifest")
    app.router.add_get("/sw.js", service_worker, name="webapp.sw")
    app.router.add_get("/share", share, name="webapp.share")
