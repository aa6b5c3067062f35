"""Detection on real-shaped pages: ``audiofetch inspect --json`` run once per page, start-up included.

Usage: ``.venv/bin/python bench/detect_pages.py [--runs 3]`` (or ``./run.sh bench detect_pages``).

Serves every fixture page of the extractor registry (``tests/fixtures/pages``, the real-world shapes
among them) plus generated ones from 127.0.0.1 only: a 3,000-entry inline playlist beside a 400 KB
minified bundle, a 720-item feed and a player demo page (a 380 KB bundle and 2,000 variables chained
through conditionals; 10 such variables took 30 s before the evaluator was bounded).
Each page is inspected by a fresh ``audiofetch`` process (what a user waits for) with ``--render never``
(static detection: the render pass has its own benchmark, ``bench/render.py``); the best of
``--runs`` is kept per page. Prints every page, then the median, the slowest page and the big
playlist against the targets (median < 0.5 s, none > 2 s, playlist < 1.5 s found whole).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detect import PAGES, Server, _cases, inspect_seconds  # noqa: E402 (the sibling benchmark's)

from tests.realpages import inline_playlist_page, long_feed, minified_bundle, ternary_chain  # noqa: E402


def _generated() -> dict[str, tuple[bytes, int]]:
    """Generated pages by path, with the number of tracks each must give."""
    playlist, expected = inline_playlist_page(3000, 400_000)
    feed, episodes = long_feed(720)
    demo = (
        "<!DOCTYPE html><html><head><title>Player demo</title>"
        f"<script>{minified_bundle(380_000)}</script>"
        f"<script>{ternary_chain(2000)}new Plyr('#player');</script></head>"
        "<body><h2>Demo track</h2><audio id='player' src='/media/demo.mp3'></audio></body></html>"
    )
    return {
        "/generated/playlist-3000.html": (playlist.encode(), len(expected)),
        "/generated/feed-720.rss": (feed.encode(), len(episodes)),
        "/generated/player-demo.html": (demo.encode(), 1),
    }


async def _startup() -> float:
    """The reference: a process that imports everything ``inspect`` imports, and does nothing."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import audiofetch.cli, audiofetch.cli._commands"
    )
    await process.wait()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per page (the best is kept)")
    args = parser.parse_args()
    server = Server()
    generated = _generated()
    server.generated.update({path: body for path, (body, _) in generated.items()})
    await server.start()
    pages = [(case.page, len(case.tracks)) for _, case in _cases()]
    pages += [(path, count) for path, (_, count) in generated.items()]
    times: dict[str, float] = {}
    startup = min([await _startup() for _ in range(args.runs)])
    try:
        print(f"{'page':48} {'best':>7} {'tracks':>9}  note")
        for path, expected in pages:
            runs = [await inspect_seconds(server.url(path), "--render", "never") for _ in range(args.runs)]
            best = min(run[0] for run in runs)
            found, note = runs[0][1], runs[0][2]
            times[path] = best
            mark = "" if found == expected else "  !! expected " + str(expected)
            print(f"{path:48} {best:6.2f}s {found:4d}/{expected:<4d}  {note}{mark}")
    finally:
        assert server.runner is not None
        await server.runner.cleanup()
    median = statistics.median(times.values())
    slowest = max(times, key=times.__getitem__)
    playlist = times["/generated/playlist-3000.html"]
    where = PAGES.relative_to(ROOT)
    print(f"\n{len(times)} pages (fixtures under {where} and 3 generated), best of {args.runs}:")
    print(f"  start-up alone (reference, same run): {startup:.2f} s")
    print(f"  median {median:.2f} s (target < 0.5 s), {median / startup:.1f}x the start-up")
    print(f"  slowest {times[slowest]:.2f} s: {slowest} (target: none > 2 s)")
    print(f"  3,000-entry playlist beside a 400 KB script: {playlist:.2f} s (target < 1.5 s)")


if __name__ == "__main__":
    asyncio.run(main())
