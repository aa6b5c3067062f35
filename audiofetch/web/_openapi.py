"""The OpenAPI 3.1 document of the JSON API, generated from the contract; ``GET /api/openapi.json``.

Schemas come from ``_contract`` (the request models the handlers read with, and the answers) and the
operations from ``_operations``; ``tests/web/test_openapi.py`` fails when a route and the document
disagree (a route missing from it, or a documented path no route serves).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from audiofetch import __version__
from audiofetch.web._contract import SCHEMAS
from audiofetch.web._operations import PATHS
from audiofetch.web._paths import base_path

__all__ = ["openapi_document", "setup_openapi"]

_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Token from POST /api/auth/login."},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "AUDIOFETCH_SESSION"},
    "extension": {
        "type": "http",
        "scheme": "bearer",
        "description": "Token from POST /api/extension/pair (a paired browser extension).",
    },
}
# aiohttp's HTTP parser answers a request line or header over 8 KiB itself, before any middleware, so
# that 400 is plain text; every operation can get it (a long query, id or name).
_PARSER_400 = {"text/plain": {"schema": {"type": "string"}}}


def _with_parser_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``paths`` where every operation's 400 also allows the parser's plain-text answer."""
    paths = copy.deepcopy(paths)
    for item in paths.values():
        for operation in item.values():
            bad = operation["responses"].setdefault("400", {"description": "Malformed request."})
            bad["content"] = {**bad.get("content", {}), **_PARSER_400}
    return paths


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AudioFetch API",
            "version": __version__,
            "description": 'Give it a web page, get every audio track on it. Errors are {"error": "..."}.',
        },
        "paths": _with_parser_errors(PATHS),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": copy.deepcopy(_SECURITY_SCHEMES),
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``; under a base path its ``servers`` entry names it, so paths resolve."""
    document = openapi_document()
    base = base_path(request.app)
    if base:
        document["servers"] = [{"url": base, "description": "AUDIOFETCH_BASE_PATH"}]
    return web.json_response(document)


def setup_openapi(app: web.Application) -> None:
    """Register ``GET /api/openapi.json``."""
    app.router.add_get("/api/openapi.json", openapi_json, name="api.openapi")
