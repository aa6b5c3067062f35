"""send_zip through a real aiohttp server and a real client on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import io
import os
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from email.policy import default

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from audiofetch.errors import DownloadError
from audiofetch.web.zipresponse import content_disposition, send_zip
from audiofetch.zipstream import ERRORS_NAME, ZipEntry, zip_length
from tests.zipcheck import aentries, agen

PAYLOADS = {f"{i:02d} - Track {i}.mp3": os.urandom(100_000 * i + 3) for i in range(1, 6)}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def known_entries() -> list[ZipEntry]:
    return [
        ZipEntry(name, agen([data[i : i + 65536] for i in range(0, len(data), 65536)]), size=len(data))
        for name, data in PAYLOADS.items()
    ]


async def serve(aiohttp_server: ServerFactory, handler: Handler) -> TestServer:
    app = web.Application()
    app.router.add_get("/zip", handler)
    return await aiohttp_server(app)


async def test_known_sizes_send_a_content_length_equal_to_the_bytes_received(
    aiohttp_server: ServerFactory,
) -> None:
    expected_length = zip_length(known_entries())

    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_zip(request, known_entries(), filename="Café – Live ✓.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        assert resp.status == 200
        body = await resp.read()
        headers = resp.headers
    assert headers["Content-Type"] == "application/zip"
    assert int(headers["Content-Length"]) == len(body) == expected_length
    assert "Transfer-Encoding" not in headers
    assert "Content-Encoding" not in headers
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == PAYLOADS


async def test_content_disposition_carries_ascii_fallback_and_utf8_name(
    aiohttp_server: ServerFactory,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_zip(request, [], filename="Café – Live ✓")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        disposition = resp.headers["Content-Disposition"]
        await resp.read()
    assert disposition == (
        'attachment; filename="Cafe Live.zip"; '
        "filename*=UTF-8''Caf%C3%A9%20%E2%80%93%20Live%20%E2%9C%93.zip"
    )
    # RFC 6266 clients prefer filename*; an independent RFC 2231/5987 decoder reads ours back exactly.
    extended = next(p.strip() for p in disposition.split(";") if p.strip().startswith("filename*="))
    parsed = email.message_from_string(f"Content-Disposition: attachment; {extended}\n\n", policy=default)
    assert parsed.get_filename() == "Café – Live ✓.zip"


@pytest.mark.parametrize(
    ("raw", "fallback"),
    [("plain.zip", "plain.zip"), ("日本語", "download.zip"), ('a"b%c', "a'b_c.zip"), ("../../x", "x.zip")],
)
def test_content_disposition_fallback_is_safe_ascii(raw: str, fallback: str) -> None:
    header = content_disposition(raw)
    assert header.isascii()
    assert f'filename="{fallback}"' in header


async def test_unknown_sizes_stream_chunked_and_unpack(aiohttp_server: ServerFactory) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        entries = [ZipEntry(name, agen([data])) for name, data in PAYLOADS.items()]
        return await send_zip(request, aentries(entries), filename="album.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        body = await resp.read()
        assert "Content-Length" not in resp.headers
        assert resp.headers["Transfer-Encoding"] == "chunked"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(PAYLOADS)


async def test_head_sends_headers_and_length_without_a_body(aiohttp_server: ServerFactory) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_zip(request, known_entries(), filename="album.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.head(server.make_url("/zip")) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) == zip_length(known_entries())
        assert await resp.read() == b""


def short_source() -> list[ZipEntry]:
    return [ZipEntry("ok.mp3", b"fine", size=4), ZipEntry("short.mp3", agen([b"x" * 900]), size=1000)]


def long_source() -> list[ZipEntry]:
    return [ZipEntry("long.mp3", agen([b"x" * 600, b"y" * 600]), size=1000), ZipEntry("z", b"z", size=1)]


def failing_source() -> list[ZipEntry]:
    return [ZipEntry("cut.mp3", agen([b"x" * 5000], fail=DownloadError("upstream reset")), size=10_000)]


@pytest.mark.parametrize("make", [short_source, long_source, failing_source])
async def test_a_broken_promise_aborts_the_connection(
    aiohttp_server: ServerFactory, make: Callable[[], list[ZipEntry]]
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_zip(request, make(), filename="broken.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) == zip_length(make())
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()


async def test_a_failure_in_an_unpromised_stream_still_aborts_a_chunked_download(
    aiohttp_server: ServerFactory,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        entries = [ZipEntry("a.mp3", agen([b"a"])), ZipEntry("bad.mp3", agen([b"b" * 10]), size=5)]
        return await send_zip(request, aentries(entries), filename="x.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()


async def test_a_failed_track_in_an_unpromised_stream_becomes_errors_txt(
    aiohttp_server: ServerFactory,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        entries = [
            ZipEntry("01.mp3", agen([b"one"])),
            ZipEntry("02.mp3", agen([b"tw"], fail=DownloadError("upstream reset"))),
        ]
        return await send_zip(request, aentries(entries), filename="x.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/zip")) as resp:
        body = await resp.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["01.mp3", ERRORS_NAME]
        assert b"02.mp3: upstream reset" in archive.read(ERRORS_NAME)


@pytest.mark.parametrize("idle", [True, False], ids=["producer-idle", "producer-busy"])
async def test_client_disconnect_stops_the_producer(aiohttp_server: ServerFactory, idle: bool) -> None:
    closed = asyncio.Event()
    never = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            yield b"x" * 65536
            while True:
                if idle:
                    await never.wait()
                yield b"y" * 65536
        finally:
            closed.set()

    async def handler(request: web.Request) -> web.StreamResponse:
        return await send_zip(request, [ZipEntry("endless.bin", source())], filename="x.zip")

    server = await serve(aiohttp_server, handler)
    async with aiohttp.ClientSession() as session:
        resp = await session.get(server.make_url("/zip"))
        assert len(await resp.content.readexactly(1000)) == 1000
        resp.close()  # drops the connection
    await asyncio.wait_for(closed.wait(), timeout=30)
