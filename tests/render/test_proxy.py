"""The egress proxy alone: what it carries, what it refuses, and that a refused target sees nothing."""

from __future__ import annotations

import asyncio

import pytest

from audiofetch.config import parse_networks
from audiofetch.render import EgressProxy
from tests.dns import TableResolver
from tests.hardening.netkit import listening

ONLY_127_0_0_1 = parse_networks("127.0.0.1/32")


async def ask(proxy: EgressProxy, head: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(head.encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), timeout=20)
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> EgressProxy:  # type: ignore[misc]
    started = EgressProxy(ONLY_127_0_0_1, resolver=TableResolver({"private.test": "127.0.0.2"}))
    await started.start()
    yield started
    await started.close()


@pytest.mark.parametrize("form", ["absolute", "connect", "name"])
async def test_a_refused_target_gets_403_and_sees_no_connection(proxy: EgressProxy, form: str) -> None:
    async with listening("127.0.0.2") as private:
        host = "private.test" if form == "name" else "127.0.0.2"
        if form == "connect":
            head = f"CONNECT {host}:{private.port} HTTP/1.1\r\nHost: {host}:{private.port}\r\n\r\n"
        else:
            head = f"GET http://{host}:{private.port}/ HTTP/1.1\r\nHost: {host}\r\n\r\n"
        answer = await ask(proxy, head)
        assert answer.startswith(b"HTTP/1.1 403"), answer
        assert b"loopback address" in answer
        assert private.connections == 0
    assert proxy.refused == 1


async def test_an_allowed_plain_request_is_carried_in_origin_form_and_closed(proxy: EgressProxy) -> None:
    async with listening("127.0.0.1") as site:
        answer = await ask(
            proxy, f"GET {site.url('/page')} HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"Connection: close" in answer and b"<title>secret</title>" in answer
        assert site.connections == 1


async def test_an_allowed_connect_is_a_tunnel(proxy: EgressProxy) -> None:
    async with listening("127.0.0.1") as site:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\n\r\n".encode())
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"<title>secret</title>" in await asyncio.wait_for(reader.read(65536), timeout=20)
        writer.close()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        ("GET /relative HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"400"),
        ("GET https://127.0.0.1/ HTTP/1.1\r\n\r\n", b"400"),
        ("CONNECT 127.0.0.1:25 HTTP/1.1\r\n\r\n", b"403"),
        ("GET http://127.0.0.1:22/ HTTP/1.1\r\n\r\n", b"403"),
        ("GET http://0x7f000002:8080/ HTTP/1.1\r\n\r\n", b"403"),
        ("nonsense\r\n\r\n", b"400"),
    ],
)
async def test_other_forms_bad_ports_and_numeric_spellings_are_refused(
    proxy: EgressProxy, head: str, status: bytes
) -> None:
    answer = await ask(proxy, head)
    assert answer.startswith(b"HTTP/1.1 " + status), answer


async def test_refusal_judges_a_url_as_a_connection_would(proxy: EgressProxy) -> None:
    assert await proxy.refusal("http://127.0.0.1:8080/a.mp3") is None
    assert "loopback" in (await proxy.refusal("http://private.test:8080/a.mp3") or "")
    assert "loopback" in (await proxy.refusal("http://[::ffff:127.0.0.2]/a.mp3") or "")
