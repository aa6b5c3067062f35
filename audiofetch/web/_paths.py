"""The URL path prefix (``AUDIOFETCH_BASE_PATH``) as handlers and middlewares need it.

Routes are registered without the prefix and the whole app is mounted under it (``_proxy.mount``), so
the router, ``url_for`` and static URLs already carry it. What is left are the paths written by hand:
redirects, ``Location`` and ``HX-Redirect`` headers, and the app-relative path the middlewares compare
against (``/api/events``, whatever the prefix).
"""

from __future__ import annotations

from aiohttp import web

from audiofetch.web._keys import SETTINGS_KEY

__all__ = ["app_path", "base_path", "local_url"]


def base_path(app: web.Application) -> str:
    """The app's base path (``/audiofetch``), or ``""`` when it is served at the root."""
    settings = app.get(SETTINGS_KEY)
    return settings.base_path if settings is not None else ""


def app_path(request: web.Request) -> str:
    """The request's path without the base path: ``/api/events`` for ``/audiofetch/api/events``."""
    base = base_path(request.app)
    path = request.path
    if base and (path == base or path.startswith(base + "/")):
        return path[len(base) :] or "/"
    return path


def local_url(request: web.Request, path: str) -> str:
    """An app-relative ``path`` (starting with ``/``) as the browser must ask for it."""
    return base_path(request.app) + path
