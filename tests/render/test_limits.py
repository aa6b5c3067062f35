"""A preview may run the page in the browser, so it counts against the per-address limit like a job."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

from audiofetch.config import Settings
from tests.web.apikit import admin_settings, build_app


async def test_a_preview_in_flight_takes_the_address_s_slot(
    aiohttp_client, aiohttp_server, settings: Settings
) -> None:
    asked, hold = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        asked.set()
        await hold.wait()
        return web.Response(text="<audio src='/a.mp3' title='A'></audio>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/slow", slow)
    site: TestServer = await aiohttp_server(app)
    client = await aiohttp_client(build_app(admin_settings(settings).with_overrides(max_jobs_per_address=1)))
    first = asyncio.create_task(client.get("/api/preview", params={"url": str(site.make_url("/slow"))}))
    await asyncio.wait_for(asked.wait(), timeout=30)
    second = await client.get("/api/preview", params={"url": str(site.make_url("/other"))})
    assert second.status == 429
    assert "previews from your address" in (await second.json())["error"]
    hold.set()
    answer = await first
    assert answer.status == 200
    assert [t["title"] for t in (await answer.json())["tracks"]] == ["A"]
    again = await client.get("/api/preview", params={"url": str(site.make_url("/slow"))})
    assert again.status == 200  # the slot was given back
