"""The OpenAPI document and the router agree: every API route is documented and every path is served."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.web._middlewares import is_api_path
from audiofetch.web._openapi import openapi_document
from tests.web.apikit import build_app

METHODS = {"get", "post", "put", "patch", "delete"}


def routes_of(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("HEAD", "OPTIONS") or not is_api_path(path):
            continue
        found.add((route.method.lower(), path))
    return found


def documented(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path) for path, item in document["paths"].items() for method in item if method in METHODS
    }


async def test_every_api_route_is_documented_and_every_documented_route_exists(
    aiohttp_client,
    settings: Settings,
) -> None:
    app = build_app(settings)
    client: TestClient = await aiohttp_client(app)
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document == json.loads(json.dumps(openapi_document()))
    assert document["openapi"] == "3.1.0"
    served = routes_of(app)
    assert ("get", "/api/openapi.json") in served
    assert served == documented(document), served ^ documented(document)


def test_every_path_parameter_is_declared() -> None:
    document = openapi_document()
    for path, item in document["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)


def test_every_reference_resolves() -> None:
    document = openapi_document()
    text = json.dumps(document)
    schemas = document["components"]["schemas"]
    for name in {chunk.split('"', 1)[0] for chunk in text.split("#/components/schemas/")[1:]}:
        assert name in schemas
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["summary"] and operation["responses"]
