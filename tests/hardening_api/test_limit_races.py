"""The job limits under concurrent submissions (found by bench/load.py: 10 of 10 simultaneous posts from
one browser were accepted against a limit of 5, and 97 jobs were active against a cap of 90).

Real app, real runner, a local upstream whose page is held back so every accepted job stays active.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from tests.web.apikit import SAME_ORIGIN, admin_settings, build_app

BURST = 12
RELEASE = web.AppKey("release", asyncio.Event)


async def held_page(request: web.Request) -> web.Response:
    await request.app[RELEASE].wait()
    return web.Response(
        text="<html><body><audio src='/a.mp3'></audio></body></html>", content_type="text/html"
    )


@pytest.fixture
async def upstream(aiohttp_server) -> AsyncIterator[TestServer]:
    app = web.Application()
    app[RELEASE] = asyncio.Event()
    app.router.add_get("/{page:.*}", held_page)
    server: TestServer = await aiohttp_server(app)
    yield server
    app[RELEASE].set()


async def burst(client: TestClient, upstream: TestServer, tag: str) -> list[int]:
    async def submit(n: int) -> int:
        url = str(upstream.make_url(f"/{tag}/{n}"))
        response = await client.post("/api/download", json={"url": url}, headers=SAME_ORIGIN)
        return response.status

    return list(await asyncio.gather(*(submit(n) for n in range(BURST))))


async def test_simultaneous_posts_from_one_browser_respect_the_per_client_limit(
    aiohttp_client, settings: Settings, upstream: TestServer
) -> None:
    client: TestClient = await aiohttp_client(build_app(admin_settings(settings)))
    first = await client.post(
        "/api/download", json={"url": str(upstream.make_url("/first"))}, headers=SAME_ORIGIN
    )
    assert first.status == 202  # the client now holds its session cookie, hence one client id
    statuses = await burst(client, upstream, "burst")
    assert statuses.count(202) == settings.max_jobs_per_client - 1
    assert statuses.count(429) == BURST - statuses.count(202)


async def test_simultaneous_posts_respect_the_global_cap(
    aiohttp_client, settings: Settings, upstream: TestServer
) -> None:
    capped = admin_settings(settings).with_overrides(max_active_jobs=3, max_jobs_per_client=100)
    client: TestClient = await aiohttp_client(build_app(capped))
    statuses = await burst(client, upstream, "global")
    assert statuses.count(202) == 3
    assert statuses.count(429) == BURST - 3
