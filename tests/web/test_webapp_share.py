"""The share target's reading of what was shared, and the manifest's URLs under a base path."""

from __future__ import annotations

from typing import Any

import pytest

from audiofetch.config import Settings
from audiofetch.web import create_app
from audiofetch.web._webapp import shared_url


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"url": "https://a.example/album"}, "https://a.example/album"),
        ({"text": "Listen: https://a.example/album."}, "https://a.example/album"),
        ({"text": "see https://a.example/Song_(live), it is good"}, "https://a.example/Song_(live)"),
        ({"text": "(https://a.example/x)"}, "https://a.example/x"),
        ({"title": "Album", "text": "no address"}, None),
        ({"title": "Album http://b.example/p?q=1", "text": ""}, "http://b.example/p?q=1"),
        ({"url": "", "text": "ftp://a.example/file"}, None),
        ({}, None),
    ],
)
def test_the_shared_address_is_found(fields: dict[str, str], expected: str | None) -> None:
    assert shared_url(fields) == expected


async def test_every_manifest_url_carries_the_base_path(aiohttp_client: Any, settings: Settings) -> None:
    client = await aiohttp_client(create_app(settings.with_overrides(base_path="/audiofetch")))
    response = await client.get("/audiofetch/manifest.webmanifest")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/manifest+json")
    document = await response.json()
    assert document["start_url"] == document["scope"] == document["id"] == "/audiofetch/"
    assert document["share_target"]["action"] == "/audiofetch/share"
    assert all(icon["src"].startswith("/audiofetch/static/icons/") for icon in document["icons"])
    worker = await client.get("/audiofetch/sw.js")
    assert worker.status == 200 and worker.headers["Content-Type"].startswith("text/javascript")
    assert "notificationclick" in await worker.text()


async def test_a_share_goes_to_the_preview_of_the_shared_address(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings.with_overrides(base_path="/audiofetch")))
    response = await client.get(
        "/audiofetch/share", params={"text": "Listen https://a.example/album!"}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/audiofetch/preview?url=https://a.example/album"
    response = await client.get("/audiofetch/share", params={"text": "nothing"}, allow_redirects=False)
    assert response.status == 400
    assert "no web address" in await response.text()
