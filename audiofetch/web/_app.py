"""Application factory: typed app keys, templates, static files and routes."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from audiofetch.config import Settings
from audiofetch.web._pages import setup_pages
from audiofetch.web._services import setup_server

__all__ = ["SETTINGS_KEY", "create_app"]

SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


def create_app(settings: Settings) -> web.Application:
    """Build the aiohttp application for ``settings`` (nothing is started until it runs)."""
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS_KEY] = settings
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        autoescape=jinja2.select_autoescape(default=True),
    )
    setup_pages(app)
    app.router.add_static("/static/", settings.static_dir, name="static", append_version=True)
    setup_server(app)
    return app
