"""Hostile pages through detection: each ends in a result or one clear error, and the loop keeps serving.

tests/test_detect.py already parses a 280 KB quadratic page and tests/net a page gzip bomb through
``fetch_page``; here the sizes are the issue's (1 MB, 50 MiB, 100k levels) and the bomb, the silent and
dripping servers and the lying Content-Lengths go through ``detect`` itself, which reads with
``open_stream``.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from audiofetch.config import Settings, load_settings
from audiofetch.detect import detect
from audiofetch.errors import FetchError, NoAudioError, ParseError, TooLargeError
from audiofetch.models import Detection
from audiofetch.net import open_fetcher
from tests.hardening.netkit import gzip_bomb, listening
from tests.kit.site import served

MIB = 1024 * 1024
QUADRATIC = "<b>" * 142_858 + "</p>" * 142_858  # 1 MB: html5lib's tree builder would need about an hour
DEEP = "<i>" * 100_000 + '<audio src="/deep.mp3" title="Deep"></audio>' + "</i>" * 100_000  # 100k levels
DEEP_UNCLOSED = "<b>" * 100_000 + '<audio src="/deep.mp3"></audio>'  # never closed
AUDIO_PAGE = (
    '<!DOCTYPE html><html><head><title>Fine</title></head><body><audio src="/a.mp3"></audio></body></html>'
)


@dataclass
class Hostile:
    """A site whose pages misbehave; counts what it sent and when a client went away."""

    base: str = ""
    sent: dict[str, int] = field(default_factory=dict)
    hung_up: dict[str, asyncio.Event] = field(default_factory=dict)
    served: dict[str, asyncio.Event] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def _mark(self, path: str) -> None:
        self.served.setdefault(path, asyncio.Event()).set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hung_up.setdefault(path, asyncio.Event())
        try:
            return await self._serve(request, path)
        except (ConnectionError, asyncio.CancelledError):
            self.hung_up[path].set()
            raise

    async def _serve(self, request: web.Request, path: str) -> web.StreamResponse:
        if path in ("/quadratic", "/deep", "/deep-unclosed", "/fine"):
            text = {
                "/quadratic": QUADRATIC,
                "/deep": DEEP,
                "/deep-unclosed": DEEP_UNCLOSED,
                "/fine": AUDIO_PAGE,
            }
            response: web.StreamResponse = web.Response(text=text[path], content_type="text/html")
            self._mark(path)
            return response
        if path == "/bomb":
            body = gzip_bomb(32 * MIB, b"<html><body>")
            return web.Response(body=body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        if path == "/huge-announced":
            response.content_length = 50 * MIB
        if path == "/long-length":
            response.content_length = 10_000
        if path == "/short-length":
            response.content_length = 60
        await response.prepare(request)
        if path in ("/huge", "/huge-announced"):
            piece = b"<p>" + b"x" * (64 * 1024 - 3)
            for _ in range(50 * 16):
                await response.write(piece)
                self.sent[path] = self.sent.get(path, 0) + len(piece)
            return response
        if path == "/long-length":
            await response.write(AUDIO_PAGE.encode()[:80])
            assert request.transport is not None
            request.transport.close()
            return response
        if path == "/short-length":
            await response.write(
                b"<html><head><title>Cut</title></head><body>" + b" " * 200 + AUDIO_PAGE.encode()
            )
            return response
        interval = {"/drip-slow": 0.5, "/drip-fast": 0.02}[path]
        self._mark(path)
        while True:
            await response.write(b" ")
            self.sent[path] = self.sent.get(path, 0) + 1
            await asyncio.sleep(interval)


@pytest.fixture
async def hostile(aiohttp_server: Any) -> Hostile:
    site = Hostile()
    site.base = await served(aiohttp_server, site.handle)
    return site


async def run_detect(settings: Settings, url: str) -> Detection:
    async with open_fetcher(settings) as fetcher, asyncio.timeout(60):  # a hang guard, not a measurement
        return await detect(fetcher, url, settings=settings)


async def detect_while_pinging(
    settings: Settings, hostile: Hostile, path: str
) -> tuple[Detection | BaseException, bool]:
    """Run detection of ``path`` and, once its page is sent, fetch another page on the same loop.

    Returns the outcome and whether the other page arrived while detection was still busy (it would
    not, if parsing blocked the event loop).
    """
    job = asyncio.create_task(run_detect(settings, hostile.url(path)))
    await asyncio.wait_for(hostile.served.setdefault(path, asyncio.Event()).wait(), 30)
    async with open_fetcher(settings) as fetcher:
        page = await fetcher.fetch_page(hostile.url("/fine"))
    answered_meanwhile = not job.done() and b"Fine" in page.body
    try:
        return await job, answered_meanwhile
    except (NoAudioError, ParseError) as exc:
        return exc, answered_meanwhile


async def test_a_1mb_quadratic_page_ends_clearly_and_the_loop_keeps_answering(
    settings: Settings, hostile: Hostile
) -> None:
    outcome, answered = await detect_while_pinging(settings, hostile, "/quadratic")
    assert isinstance(outcome, (NoAudioError, ParseError)), outcome
    assert "\n" not in outcome.user_message
    assert answered


@pytest.mark.parametrize("path", ["/deep", "/deep-unclosed"])
async def test_100k_levels_of_nesting_are_read_without_recursion(
    settings: Settings, hostile: Hostile, path: str
) -> None:
    outcome, answered = await detect_while_pinging(settings, hostile, path)
    assert isinstance(outcome, Detection), outcome
    assert [t.url for t in outcome.tracks] == [hostile.url("/deep.mp3")]
    assert answered


@pytest.mark.parametrize("path", ["/huge", "/huge-announced"])
async def test_a_50mib_page_is_refused_at_the_cap_counted_on_bytes_received(
    settings: Settings, hostile: Hostile, path: str
) -> None:
    with pytest.raises(TooLargeError, match="page limit") as caught:
        await run_detect(settings, hostile.url(path))
    assert "\n" not in caught.value.user_message
    await asyncio.wait_for(hostile.hung_up[path].wait(), 30)  # the client hung up: the server stopped
    assert settings.max_page_bytes <= hostile.sent[path] < 25 * MIB


async def test_a_gzip_bomb_page_stops_at_the_cap(settings: Settings, hostile: Hostile) -> None:
    with pytest.raises(TooLargeError, match="page limit"):
        await run_detect(settings.with_overrides(max_page_bytes=MIB), hostile.url("/bomb"))


async def test_a_server_that_accepts_and_never_answers_times_out(settings: Settings) -> None:
    quick = settings.with_overrides(read_timeout=0.3)
    async with listening(behaviour="silent") as silent:
        with pytest.raises(FetchError, match="stopped answering") as caught:
            await run_detect(quick, silent.url("/"))
        assert silent.connections == 1
        assert caught.value.retryable


async def test_a_server_whose_queue_is_full_hits_the_connect_timeout(settings: Settings) -> None:
    """Accept queue full: the kernel drops the SYN, so only the connect timeout can end the wait."""
    quick = settings.with_overrides(connect_timeout=0.3, read_timeout=120.0)
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                try:
                    filler.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
            with pytest.raises(FetchError, match="stopped answering"):
                await run_detect(quick, f"http://127.0.0.1:{port}/")
        finally:
            for filler in fillers:
                filler.close()


async def test_a_page_dripping_slower_than_the_read_timeout_times_out(
    settings: Settings, hostile: Hostile
) -> None:
    with pytest.raises(FetchError, match="stopped answering"):
        await run_detect(settings.with_overrides(read_timeout=0.2), hostile.url("/drip-slow"))
    await asyncio.wait_for(hostile.hung_up["/drip-slow"].wait(), 30)


async def test_a_page_dripping_just_inside_the_read_timeout_hits_a_page_deadline(
    hostile: Hostile, tmp_path: Any
) -> None:
    settings = load_settings(
        {
            "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "AUDIOFETCH_DATA_DIR": str(tmp_path),
            "AUDIOFETCH_READ_TIMEOUT": "0.5",
            "AUDIOFETCH_PAGE_DEADLINE": "0.5",
        }
    )
    async with open_fetcher(settings) as fetcher:
        job = asyncio.create_task(detect(fetcher, hostile.url("/drip-fast"), settings=settings))
        done, _ = await asyncio.wait({job}, timeout=4)  # a generous bound on a 0.5 s deadline
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
    assert done, "the dripping page was still being read"
    assert isinstance(job.exception(), FetchError)


async def test_a_page_shorter_than_its_content_length_is_a_clear_cut_off(
    settings: Settings, hostile: Hostile
) -> None:
    quick = settings.with_overrides(read_timeout=2.0)
    with pytest.raises(FetchError, match="cut off") as caught:
        await run_detect(quick, hostile.url("/long-length"))
    assert caught.value.retryable


async def test_a_page_longer_than_its_content_length_is_read_as_announced(
    settings: Settings, hostile: Hostile
) -> None:
    """The extra bytes are never parsed (nor taken as the next response on a reused connection)."""
    async with open_fetcher(settings) as fetcher:
        with pytest.raises(NoAudioError):
            await detect(fetcher, hostile.url("/short-length"), settings=settings)
        fine = await detect(fetcher, hostile.url("/fine"), settings=settings)
    assert [t.url for t in fine.tracks] == [hostile.url("/a.mp3")]
