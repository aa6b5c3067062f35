"""Fixtures for the render pass: the test site on 127.0.0.1, and skip when Chromium is missing."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from audiofetch.render import render_unavailable
from tests.render.site import RenderSite

UNAVAILABLE = render_unavailable()
needs_chromium = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")


@pytest.fixture
def site() -> RenderSite:
    return RenderSite()


@pytest.fixture
async def origin(aiohttp_server, site: RenderSite) -> TestServer:
    server: TestServer = await aiohttp_server(site.app())
    return server
