"""Render-pass benchmark: seconds per page for the four script-only test pages, against static reading.

Usage: ``.venv/bin/python bench/render.py [--runs 3]``. Serves ``tests/render/pages`` from a local
aiohttp server (127.0.0.1 only) and times, per page, ``detect_rendered(mode="always")`` with one shared
Renderer (the first page also pays for starting Chromium, reported apart) and, as the reference in the
same run, static detection of the same page (``mode="never"`` on the page's static twin with plain
``<audio>`` markup). Prints the median seconds and the ratio render/static.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiofetch.config import Settings, parse_networks
from audiofetch.net import open_fetcher
from audiofetch.render import Renderer, detect_rendered
from tests.render.site import PAGES, RenderSite


def static_twin(name: str) -> str:
    rows = "".join(f'<audio src="{path}" title="{title}"></audio>' for path, title in PAGES[name])
    return f"<!DOCTYPE html><html><head><title>{name}</title></head><body>{rows}</body></html>"


async def main(runs: int) -> None:
    site = RenderSite()
    app = site.app()
    app.router.add_get(
        "/twin/{name}",
        lambda r: web.Response(text=static_twin(r.match_info["name"]), content_type="text/html"),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = Settings(allow_networks=parse_networks("127.0.0.0/8"))
    async with open_fetcher(settings) as fetcher, Renderer(settings) as renderer:
        started = time.perf_counter()
        await detect_rendered(
            fetcher,
            f"http://127.0.0.1:{port}/render/lazy.html",
            settings=settings,
            renderer=renderer,
            mode="always",
        )
        print(f"first page, Chromium start included: {time.perf_counter() - started:.2f} s")
        print(f"{'page':<10} {'render s':>9} {'static s':>9} {'ratio':>7}")
        for name in PAGES:
            rendered, static = [], []
            for _ in range(runs):
                t = time.perf_counter()
                found = await detect_rendered(
                    fetcher,
                    f"http://127.0.0.1:{port}/render/{name}.html",
                    settings=settings,
                    renderer=renderer,
                    mode="always",
                )
                rendered.append(time.perf_counter() - t)
                assert [t.title for t in found.detection.tracks] == [title for _, title in PAGES[name]]
                t = time.perf_counter()
                await detect_rendered(
                    fetcher,
                    f"http://127.0.0.1:{port}/twin/{name}",
                    settings=settings,
                    renderer=None,
                    mode="never",
                )
                static.append(time.perf_counter() - t)
            r, s = statistics.median(rendered), statistics.median(static)
            print(f"{name:<10} {r:>9.2f} {s:>9.3f} {r / s:>7.0f}")
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
