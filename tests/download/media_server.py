"""The download tests' view of the kit's site: files by name (no leading slash), requests as ``Seen``."""

from __future__ import annotations

from typing import Any

from audiofetch.config import Settings, parse_networks
from audiofetch.download import RetryPolicy
from tests.kit.site import ID3, OGG, MediaSite, Seen, payload, sha256

__all__ = ["FAST_RETRIES", "ID3", "OGG", "MediaServer", "payload", "settings", "sha256", "start_media_server"]

FAST_RETRIES = RetryPolicy(retries=3, base_delay=0.01, max_delay=0.05)


def settings(**overrides: Any) -> Settings:
    return Settings(allow_networks=parse_networks("127.0.0.0/8"), retries=3, **overrides)


class MediaServer(MediaSite):
    """Files by name, each with a behaviour (see ``tests.kit.site``); ``seen`` lists every request."""

    @property
    def seen(self) -> list[Seen]:
        return self.requests

    def add(self, name: str, data: bytes, behaviour: str = "ok", content_type: str = "audio/mpeg") -> str:
        return self.file(f"/{name}", data, content_type=content_type, behaviour=behaviour)

    def requests_for(self, name: str) -> list[Seen]:
        return self.requests_at(f"/{name}")


async def start_media_server(aiohttp_server: Any) -> MediaServer:
    server = MediaServer()
    await server.serve(aiohttp_server)
    return server
