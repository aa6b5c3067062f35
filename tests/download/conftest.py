from __future__ import annotations

from typing import Any

import pytest

from tests.download.media_server import MediaServer, start_media_server


@pytest.fixture
async def media(aiohttp_server: Any) -> MediaServer:
    return await start_media_server(aiohttp_server)
