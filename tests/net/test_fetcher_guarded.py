"""The guard inside a real session: refused targets are never connected to, on any hop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.errors import BlockedURLError
from audiofetch.net import open_fetcher

LOOPBACK = Settings(allow_networks=parse_networks("127.0.0.0/8"))


async def counting_server(
    aiohttp_server: Any, *, host: str = "127.0.0.1", redirect_to: str | None = None
) -> Any:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        if redirect_to is not None:
            raise web.HTTPFound(redirect_to)
        return web.Response(text="<html><title>ok</title></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = await aiohttp_server(app, host=host)
    server.seen = seen
    return server


async def test_default_settings_refuse_loopback_and_the_server_sees_nothing(aiohttp_server: Any) -> None:
    server = await counting_server(aiohttp_server)
    async with open_fetcher(Settings()) as fetcher:
        with pytest.raises(BlockedURLError, match="loopback"):
            await fetcher.fetch_page(str(server.make_url("/page")))
        with pytest.raises(BlockedURLError):
            async with fetcher.open_stream(str(server.make_url("/a.mp3"))):
                pass
        with pytest.raises(BlockedURLError):
            await fetcher.fetch_head(str(server.make_url("/a.mp3")))
    assert server.seen == []


async def test_a_name_resolving_to_loopback_is_refused_at_connect(
    aiohttp_server: Any, map_resolver: Any
) -> None:
    server = await counting_server(aiohttp_server)
    resolver = map_resolver({"evil.test": "127.0.0.1"})
    async with open_fetcher(Settings(), resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match=r"127\.0\.0\.1 is a loopback address"):
            await fetcher.fetch_page(f"http://evil.test:{server.port}/page")
    assert resolver.asked == ["evil.test"]
    assert server.seen == []


async def test_the_same_name_is_fetched_once_its_network_is_allowed(
    aiohttp_server: Any, map_resolver: Any
) -> None:
    server = await counting_server(aiohttp_server)
    resolver = map_resolver({"good.test": "127.0.0.1"})
    async with open_fetcher(LOOPBACK, resolver=resolver) as fetcher:
        page = await fetcher.fetch_page(f"http://good.test:{server.port}/page")
    assert page.status == 200
    assert server.seen == ["/page"]


async def test_a_redirect_from_an_allowed_server_to_a_refused_one_is_refused(aiohttp_server: Any) -> None:
    inner = await counting_server(aiohttp_server, host="127.0.0.2")
    outer = await counting_server(aiohttp_server, redirect_to=str(inner.make_url("/secret")))
    only_first = Settings(allow_networks=parse_networks("127.0.0.1/32"))
    async with open_fetcher(only_first) as fetcher:
        with pytest.raises(BlockedURLError, match=r"127\.0\.0\.2"):
            await fetcher.fetch_page(str(outer.make_url("/page")))
    assert outer.seen == ["/page"]
    assert inner.seen == []


async def test_a_redirect_to_a_name_that_resolves_to_a_refused_address_is_refused(
    aiohttp_server: Any, map_resolver: Any
) -> None:
    inner = await counting_server(aiohttp_server, host="127.0.0.2")
    outer = await counting_server(aiohttp_server, redirect_to=f"http://rebind.test:{inner.port}/secret")
    resolver = map_resolver({"rebind.test": "127.0.0.2"})
    only_first = Settings(allow_networks=parse_networks("127.0.0.1/32"))
    async with open_fetcher(only_first, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match=r"rebind\.test"):
            await fetcher.fetch_page(str(outer.make_url("/page")))
    assert resolver.asked == ["rebind.test"]
    assert inner.seen == []


async def test_metadata_address_behind_a_name_is_refused_before_any_connect(
    monkeypatch: Any, map_resolver: Any
) -> None:
    """169.254.169.254 is never dialled: a tripwire on the loop refuses any non-loopback connect anyway."""
    loop = asyncio.get_running_loop()
    dialled: list[object] = []
    real_connect = loop.sock_connect

    async def tripwire(sock: Any, address: Any) -> None:
        dialled.append(address)
        if not str(address[0]).startswith("127.") and address[0] != "::1":
            raise OSError("tripwire: the test refused a non-loopback connect")
        await real_connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", tripwire)
    resolver = map_resolver({"metadata.test": "169.254.169.254", "intranet.test": "10.1.2.3"})
    async with open_fetcher(LOOPBACK, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match="link-local"):
            await fetcher.fetch_page("http://metadata.test/latest/meta-data/")
        with pytest.raises(BlockedURLError, match="private"):
            async with fetcher.open_stream("http://intranet.test:8080/a.mp3"):
                pass
    assert dialled == []
