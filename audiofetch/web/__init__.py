"""The web application: server-rendered pages, the JSON API, live progress and ZIP streaming.

Allowed imports: everything below ``web`` (jobs, detect, download, zipstream, net, config, models, errors).
Only this package imports ``aiohttp.web`` and ``jinja2``.
"""

from __future__ import annotations

from audiofetch.web._app import SETTINGS_KEY, create_app, serve
from audiofetch.web.zipresponse import content_disposition, send_zip

__all__ = ["SETTINGS_KEY", "content_disposition", "create_app", "send_zip", "serve"]
