"""Application factory: typed app keys, templates, static files and routes, mounted for a reverse proxy."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from audiofetch.config import Settings
from audiofetch.web._contract import MAX_BODY_BYTES
from audiofetch.web._hosts import host_middleware
from audiofetch.web._keys import SETTINGS_KEY
from audiofetch.web._pages import setup_pages
from audiofetch.web._proxy import behind_proxy
from audiofetch.web._serve import run_server
from audiofetch.web._services import setup_server
from audiofetch.web._webapp import setup_webapp

__all__ = ["MAX_BODY_BYTES", "SETTINGS_KEY", "create_app", "serve"]


def create_app(settings: Settings) -> web.Application:
    """Build the aiohttp application for ``settings`` (nothing is started until it runs).

    With ``AUDIOFETCH_BASE_PATH`` set, the result is a root app with the application mounted under the
    prefix (``SETTINGS_KEY`` is set on both); otherwise it is the application itself.
    """
    return _served(_application(settings), settings)


def serve(settings: Settings) -> None:
    """Run the server until SIGINT or SIGTERM, printing where it listens once it answers.

    Raises ``ConfigError`` when the port is in use (before any service starts).
    """
    inner = _application(settings)
    run_server(settings, _served(inner, settings), inner)


def _served(app: web.Application, settings: Settings) -> web.Application:
    """``app`` behind the proxy set-up, with the Host check outermost: before any handler runs."""
    served = behind_proxy(app, settings, client_max_size=MAX_BODY_BYTES)
    served.middlewares.insert(0, host_middleware(settings))
    return served


def _application(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[SETTINGS_KEY] = settings
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        autoescape=jinja2.select_autoescape(default=True),
    )
    setup_pages(app)
    setup_webapp(app)  # manifest, service worker, share target
    app.router.add_static("/static/", settings.static_dir, name="static", append_version=True)
    setup_server(app)
    return app
