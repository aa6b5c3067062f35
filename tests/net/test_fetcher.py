"""Fetcher behaviour against real local servers: caps, statuses, redirects, heads and ranged streams."""

from __future__ import annotations

import gzip
import socket
from typing import Any

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.errors import FetchError, TooLargeError
from audiofetch.net import BROWSER_USER_AGENT, open_fetcher, parse_retry_after

SETTINGS = Settings(allow_networks=parse_networks("127.0.0.0/8"), max_page_bytes=1024 * 1024)
BLOB = bytes(range(256)) * 4096  # 1 MiB


def make_app(seen: list[web.Request]) -> web.Application:
    async def record(request: web.Request) -> None:
        seen.append(request)

    async def page(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="<html><title>hi</title></html>", content_type="text/html", charset="utf-8")

    async def bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})

    async def small_gzip(request: web.Request) -> web.Response:
        body = gzip.compress(b"<html>" + b"a" * 100_000 + b"</html>")
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, text="no", headers={"Retry-After": "7"})

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        if left == 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/hop/{left - 1}")

    async def ranged(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(body=BLOB, content_type="audio/mpeg")  # FileResponse-like Range support below

    async def file(request: web.Request) -> web.StreamResponse:
        await record(request)
        rng = request.http_range
        start = rng.start or 0
        if request.headers.get("Range") is None:
            return web.Response(body=BLOB, content_type="audio/mpeg")
        end = len(BLOB) if rng.stop is None else min(rng.stop, len(BLOB))
        return web.Response(
            status=206,
            body=BLOB[start:end],
            content_type="audio/mpeg",
            headers={"Content-Range": f"bytes {start}-{end - 1}/{len(BLOB)}"},
        )

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/small-gzip", small_gzip)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/hop/{n}", hop)
    app.router.add_get("/norange.mp3", ranged)
    app.router.add_get("/file.mp3", file)
    return app


@pytest.fixture
async def server(aiohttp_server: Any) -> Any:
    seen: list[web.Request] = []
    srv = await aiohttp_server(make_app(seen))
    srv.seen = seen
    return srv


async def test_page_comes_back_with_final_url_type_and_charset(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        page = await fetcher.fetch_page(str(server.make_url("/page")), referer="https://example.org/")
    assert page.body == b"<html><title>hi</title></html>"
    assert (page.status, page.content_type, page.charset) == (200, "text/html", "utf-8")
    assert page.header("content-type") == "text/html; charset=utf-8"
    sent = server.seen[0].headers
    assert sent["User-Agent"] == BROWSER_USER_AGENT
    assert sent["Referer"] == "https://example.org/"


async def test_a_compression_bomb_stops_at_the_page_cap(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        with pytest.raises(TooLargeError, match="1 MiB"):
            await fetcher.fetch_page(str(server.make_url("/bomb")))
        page = await fetcher.fetch_page(str(server.make_url("/small-gzip")))
    assert len(page.body) == 100_013


async def test_an_explicit_smaller_cap_applies(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        with pytest.raises(TooLargeError):
            await fetcher.fetch_page(str(server.make_url("/page")), max_bytes=10)


@pytest.mark.parametrize(
    ("code", "retryable", "retry_after"),
    [(404, False, None), (403, False, None), (500, True, 7.0), (503, True, 7.0), (429, True, 7.0)],
)
async def test_statuses_become_fetch_errors(
    server: Any, code: int, retryable: bool, retry_after: float | None
) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch_page(str(server.make_url(f"/status/{code}")))
        with pytest.raises(FetchError) as streamed:
            async with fetcher.open_stream(str(server.make_url(f"/status/{code}"))):
                pass
    for error in (caught.value, streamed.value):
        assert error.status == code
        assert error.retryable is retryable
        assert error.retry_after == retry_after
        assert str(code) in error.user_message


async def test_five_redirects_are_followed_and_six_are_refused(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        page = await fetcher.fetch_page(str(server.make_url("/hop/5")))
        assert page.body == b"arrived"
        assert page.url.endswith("/hop/0")
        with pytest.raises(FetchError, match="redirects more than 5 times"):
            await fetcher.fetch_page(str(server.make_url("/hop/6")))


async def test_fetch_head_reads_only_the_first_bytes(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        ranged = await fetcher.fetch_head(str(server.make_url("/file.mp3")), max_bytes=100)
        ignored = await fetcher.fetch_head(str(server.make_url("/norange.mp3")), max_bytes=100)
    assert ranged.body == BLOB[:100] and ranged.status == 206
    assert ignored.body == BLOB[:100] and ignored.status == 200
    assert server.seen[0].headers["Range"] == "bytes=0-99"


async def test_open_stream_reports_honoured_and_ignored_ranges(server: Any) -> None:
    async with open_fetcher(SETTINGS) as fetcher:
        async with fetcher.open_stream(str(server.make_url("/file.mp3")), start=1000) as stream:
            assert (stream.status, stream.start, stream.total, stream.range_honoured) == (
                206,
                1000,
                len(BLOB),
                True,
            )
            body = b"".join([piece async for piece in stream.chunks()])
            assert body == BLOB[1000:]
        async with fetcher.open_stream(str(server.make_url("/norange.mp3")), start=1000) as stream:
            assert (stream.status, stream.start, stream.total, stream.range_honoured) == (
                200,
                0,
                len(BLOB),
                False,
            )
            assert stream.content_type == "audio/mpeg"
        async with fetcher.open_stream(str(server.make_url("/file.mp3"))) as stream:
            assert (stream.start, stream.total, stream.range_honoured) == (0, len(BLOB), True)
    media_request = server.seen[0].headers
    assert media_request["Accept-Encoding"] == "identity"
    assert media_request["Range"] == "bytes=1000-"


async def test_a_closed_port_is_a_retryable_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with open_fetcher(SETTINGS) as fetcher:
        with pytest.raises(FetchError, match="could not connect") as caught:
            await fetcher.fetch_page(f"http://127.0.0.1:{port}/")
    assert caught.value.retryable


def test_retry_after_reads_seconds_and_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
