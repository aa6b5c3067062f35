"""Run the server as a separate process for the restart tests: ``python -m tests.web.server_main PORT``.

Settings come from the environment like ``audiofetch serve``; the HTTP layer is installed when
``create_app`` does not install it yet, so the test does not depend on how the app is wired.
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from audiofetch.config import load_settings
from audiofetch.web import create_app
from audiofetch.web._services import setup_server


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    app = create_app(settings)
    if "api.download" not in app.router.named_resources():
        setup_server(app)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
