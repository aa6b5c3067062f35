"""Detection benchmark: speed and linearity on large pages, and found/expected against yt-dlp.

Usage: ``.venv/bin/python bench/detect.py [--sizes 0.25,0.5,1,2] [--runs 3] [--skip-ytdlp]``.

1. Generates a real-looking archive page (nav, articles, <audio> with two formats, WordPress shortcodes,
   link lists with duration badges, inline scripts) at several sizes, serves it from a local aiohttp
   server and times (a) parsing + extraction in-process (network excluded: ``make_page`` + ``detect_page``)
   and (b) ``audiofetch inspect --json`` as a subprocess (Python start-up and the local fetch included).
2. Runs ``yt-dlp -J`` (its generic extractor) and our ``detect`` on every fixture page of the extractor
   registry, and prints found/expected per page and in total. yt-dlp is given the local server as its
   proxy, and that server refuses every host but its own (403; an https CONNECT gets 404), so nothing
   leaves the machine even when yt-dlp follows an embed (the Plyr page's YouTube iframe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.detect import detect, detect_page, normalize_url
from audiofetch.errors import AudioFetchError
from audiofetch.extractors import EXTRACTOR_MODULES, ExtractorTest, extractor_class
from audiofetch.net import open_fetcher
from audiofetch.page import make_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures" / "pages"
VENV_BIN = Path(sys.executable).parent
SETTINGS = Settings(allow_networks=parse_networks("127.0.0.0/8"))
MIB = 1024 * 1024
WORDS = (  # noqa: SIM905 (a word list reads better as one string)
    "harbour light evening tide boat rope lantern quiet station signal winter river stone bridge "
    "market morning song voice choir organ field rain roof creek bird dawn letter window garden"
).split()
_TYPES = {".html": "text/html; charset=utf-8", ".xspf": "application/xspf+xml", ".pls": "audio/x-scpls"}


# --- a large, real-looking page ------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _entry(number: int, rng: random.Random) -> str:
    title = f"Episode {number}: {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    text = "".join(f"<p>{_sentence(rng, rng.randint(30, 70))}</p>" for _ in range(rng.randint(3, 6)))
    kind = number % 3
    if kind == 0:
        player = (
            f'<audio controls preload="none"><source src="/media/ep{number}.mp3" type="audio/mpeg">'
            f'<source src="/media/ep{number}.ogg" type="audio/ogg"></audio>'
        )
    elif kind == 1:
        player = (
            f'<audio class="wp-audio-shortcode" id="audio-{number}-1" preload="none" controls="controls">'
            f'<source type="audio/mpeg" src="/media/ep{number}.mp3?_={number}" />'
            f'<a href="/media/ep{number}.mp3">/media/ep{number}.mp3</a></audio>'
        )
    else:
        player = (
            f'<p class="listen"><a href="/media/ep{number}.mp3">{title} '
            f'<span class="duration">{rng.randint(10, 59)}:{rng.randint(10, 59)}</span></a></p>'
        )
    return (
        f'<article class="post" id="post-{number}"><header><h2 class="entry-title">{title}</h2>'
        f'<time datetime="2024-01-{number % 28 + 1:02d}">January {number % 28 + 1}</time></header>'
        f'<div class="entry-content">{text}{player}</div>'
        f'<footer><a href="/tags/{rng.choice(WORDS)}">#{rng.choice(WORDS)}</a> '
        f'<a href="/episodes/{number}#comments">Comments</a></footer></article>\n'
    )


def big_page(target_bytes: int, seed: int = 7) -> tuple[bytes, int]:
    """A page of about ``target_bytes`` and the number of tracks it holds."""
    rng = random.Random(seed)
    head = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Harbour Radio archive</title>"
        "<link rel='stylesheet' href='/css/site.css'><script>window.dataLayer=[];function gtag(){"
        "dataLayer.push(arguments)}gtag('js',new Date());</script></head><body>"
        "<nav>" + "".join(f"<a href='/section/{w}'>{w.title()}</a>" for w in WORDS) + "</nav><main>"
    )
    parts = [head]
    size, number = len(head), 0
    while size < target_bytes:
        number += 1
        entry = _entry(number, rng)
        parts.append(entry)
        size += len(entry.encode())
    parts.append("</main><footer><p>&copy; Harbour Radio</p></footer></body></html>")
    return "".join(parts).encode(), number


# --- the local server ------------------------------------------------------------------------------


class Server:
    """Fixture pages and generated pages on 127.0.0.1; as a proxy it refuses every other host."""

    def __init__(self) -> None:
        self.generated: dict[str, bytes] = {}
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (request.url.host, request.url.port) != ("127.0.0.1", self.port):
            raise web.HTTPForbidden(text="this benchmark serves 127.0.0.1 only")
        path = request.path
        if path in self.generated:
            return web.Response(body=self.generated[path], content_type="text/html", charset="utf-8")
        file = (PAGES / path.lstrip("/")).resolve()
        if PAGES not in file.parents or not file.is_file():
            raise web.HTTPNotFound()
        kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return web.Response(body=file.read_bytes(), headers={"Content-Type": kind})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


# --- 1. speed and linearity ------------------------------------------------------------------------


async def inspect_seconds(url: str, *options: str) -> tuple[float, int, str]:
    """Wall time of ``audiofetch inspect --json [options] URL``, its track count and its notes or error
    line (60 characters at most); the count is -1 when the command failed."""
    exe = VENV_BIN / "audiofetch"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "audiofetch"]
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, "inspect", "--json", *options, "--allow-network", "127.0.0.0/8", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        return elapsed, -1, (lines[-1] if lines else "failed")[:60]
    data = json.loads(out)
    return elapsed, len(data.get("tracks", [])), "; ".join(data.get("notes", []))[:60]


async def _detect_seconds(url: str) -> tuple[float, int, str]:
    """Wall time of ``detect`` in this process through the real fetcher (used while the CLI is not there)."""
    started = time.perf_counter()
    async with open_fetcher(SETTINGS) as fetcher:
        detection = await detect(fetcher, url, settings=SETTINGS)
    return time.perf_counter() - started, len(detection.tracks), ""


async def speed(server: Server, sizes: list[float], runs: int) -> None:
    print(f"1. Detection speed on a generated archive page (best of {runs} runs)")
    probe = server.url("/html5_audio/album.html")
    measure = inspect_seconds
    column = "inspect (CLI)"
    if (await inspect_seconds(probe))[1] < 0:
        print(f"   audiofetch inspect is not usable yet ({(await inspect_seconds(probe))[2]});")
        print("   the last column times detect() in-process instead (local fetch included).")
        measure, column = _detect_seconds, "detect()"
    print(f"{'size':>8} {'tracks':>7} {'parse+extract':>14} {'per MiB':>9} {column:>14} {'found':>6}")
    per_mib: list[float] = []
    for size in sizes:
        body, count = big_page(int(size * MIB))
        path = f"/generated/archive-{size}.html"
        server.generated[path] = body
        url = server.url(path)
        best = float("inf")
        found = 0
        for run in range(runs):
            started = time.perf_counter()
            page = make_page(f"{url}?run={run}", body, content_type="text/html; charset=utf-8")
            found = len(detect_page(page).tracks)
            best = min(best, time.perf_counter() - started)
        if found != count:
            print(f"   !! generated page of {size} MiB: found {found} of {count} tracks")
        outside = [await measure(url) for _ in range(runs)]
        mib = len(body) / MIB
        per_mib.append(best / mib)
        print(
            f"{mib:7.2f}M {count:7d} {best * 1000:11.0f} ms {best / mib * 1000:6.0f} ms"
            f" {min(o[0] for o in outside) * 1000:11.0f} ms {outside[0][1]:6d}"
        )
    print(f"   linearity: slowest/fastest time per MiB = {max(per_mib) / min(per_mib):.2f} (1.00 is linear)")


# --- 2. found/expected against yt-dlp ----------------------------------------------------------------


def _cases() -> Iterator[tuple[str, ExtractorTest]]:
    for module_name in EXTRACTOR_MODULES:
        try:
            extractor = extractor_class(module_name)
        except Exception as exc:
            print(f"   (cannot import {module_name}: {exc})")
            continue
        for case in extractor.TESTS:
            yield extractor.name, case


def _urls_in(data: Any) -> set[str]:
    """Every media URL in yt-dlp's JSON (entries, formats, the top level)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("url", "manifest_url") and isinstance(value, str):
                found.add(normalize_url(value))
            elif key in ("entries", "formats", "requested_formats") or isinstance(value, dict | list):
                found |= _urls_in(value)
    elif isinstance(data, list):
        for item in data:
            found |= _urls_in(item)
    return found


async def _ytdlp(url: str, proxy: str, limit: asyncio.Semaphore) -> tuple[set[str], str]:
    command = [
        str(VENV_BIN / "yt-dlp"), "-J", "--no-warnings", "--ignore-config", "--no-cache-dir",
        "--socket-timeout", "10", "--proxy", proxy, url,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    async with limit:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        out, err = await process.communicate()
    if process.returncode != 0 or not out.strip() or out.strip() == b"null":
        message = err.decode(errors="replace").strip().splitlines()
        return set(), (message[-1] if message else "no result")[:70]
    return _urls_in(json.loads(out)), ""


async def _ours(url: str, case: ExtractorTest) -> tuple[list[tuple[str, str | None]], str]:
    async with open_fetcher(SETTINGS) as fetcher:
        try:
            detection = await detect(fetcher, url, settings=SETTINGS, prefer=case.prefer)
        except AudioFetchError as exc:
            return [], exc.user_message[:70]
    return [(t.url, t.title) for t in detection.tracks], ""


async def compare(server: Server) -> None:
    if not (VENV_BIN / "yt-dlp").exists():
        print("2. yt-dlp is not installed in the venv (pip install yt-dlp); comparison skipped")
        return
    cases = list(_cases())
    limit = asyncio.Semaphore(4)
    proxy = server.url("/").rstrip("/")
    ytdlp = await asyncio.gather(*(_ytdlp(server.url(case.page), proxy, limit) for _, case in cases))
    print(f"\n2. Found/expected per fixture page ({len(cases)} pages), ours vs yt-dlp -J (generic)")
    print(f"{'page':44} {'ours':>7} {'exact':>5} {'yt-dlp':>7}  note")
    totals = [0, 0, 0, 0]  # ours found, expected, exact pages, yt-dlp found
    for (_, case), (theirs, their_error) in zip(cases, ytdlp, strict=True):
        url = server.url(case.page)
        expected = [(urljoin(url, t.url), t.title) for t in case.tracks]
        ours, our_error = await _ours(url, case)
        our_urls = {u for u, _ in ours}
        ours_found = sum(1 for u, _ in expected if u in our_urls)
        exact = ours == expected
        their_found = sum(1 for u, _ in expected if normalize_url(u) in theirs)
        totals[0] += ours_found
        totals[1] += len(expected)
        totals[2] += exact
        totals[3] += their_found
        note = our_error or their_error
        print(
            f"{case.page:44} {ours_found:3d}/{len(expected):<3d} {'yes' if exact else 'NO':>5}"
            f" {their_found:3d}/{len(expected):<3d}  {note}"
        )
    print(
        f"{'TOTAL':44} {totals[0]:3d}/{totals[1]:<3d} {totals[2]:2d}/{len(cases):<2d}"
        f" {totals[3]:3d}/{totals[1]:<3d}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0.25,0.5,1,2", help="page sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="repetitions per size (best is kept)")
    parser.add_argument("--skip-ytdlp", action="store_true", help="only the speed part")
    args = parser.parse_args()
    server = Server()
    await server.start()
    try:
        await speed(server, [float(s) for s in args.sizes.split(",")], args.runs)
        if not args.skip_ytdlp:
            await compare(server)
    finally:
        assert server.runner is not None
        await server.runner.cleanup()


if __name__ == "__main__":
    if shutil.which("true") is None:
        raise SystemExit("needs a POSIX system")
    asyncio.run(main())
