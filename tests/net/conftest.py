from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult


class MapResolver(AbstractResolver):
    """DNS from a table: lets tests point any host name at any address without real DNS."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        ip = self.table[host]
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=fam, proto=0, flags=socket.AI_NUMERICHOST)
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
def map_resolver() -> type[MapResolver]:
    return MapResolver
