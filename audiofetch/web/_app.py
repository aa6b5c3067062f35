"""Application factory: typed app keys, templates, static files and routes."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from audiofetch import __version__
from audiofetch.config import Settings
from audiofetch.web._services import setup_server

__all__ = ["SETTINGS_KEY", "create_app"]

SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, object]:
    """The home page."""
    return {}


async def healthz(request: web.Request) -> web.Response:
    """Liveness probe for containers and proxies: 200 while the process serves requests."""
    return web.json_response({"status": "ok", "version": __version__})


def create_app(settings: Settings) -> web.Application:
    """Build the aiohttp application for ``settings`` (nothing is started until it runs)."""
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS_KEY] = settings
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.globals["version"] = __version__
    app.router.add_get("/", index, name="index")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_static("/static/", settings.static_dir, name="static", append_version=True)
    setup_server(app)
    return app
