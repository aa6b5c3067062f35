"""ZIP writer throughput: our zip_stream vs zipstream-ng vs stream-zip vs plain zlib.crc32, one process.

Usage: ``.venv/bin/python bench/zipwriter.py [--gib 1] [--entries 16] [--rounds 5] [--chunks 65536,8192]``

Every contender streams the same archive (``--entries`` stored files, ``--gib`` GiB in all) built from
the same chunk objects, and the consumer only counts bytes, so the figures are the writers' own cost.
The runs are interleaved (round 1: every contender, round 2: every contender...) and the best round
is reported, so machine noise hits everyone alike. Time is this thread's CPU time (``time.thread_time``),
not wall time, so other processes on a shared machine do not count against whoever ran while they
did (``--wall`` switches to wall-clock time). Two baselines:

- ``crc32 (sync loop)``: ``for chunk in chunks: crc = crc32(chunk, crc)``, the raw ceiling.
- ``crc32 (async pass)``: an async generator that reads the same async source, CRCs each chunk and
  yields it on. It has exactly the async iteration our writer cannot avoid (source -> writer ->
  consumer), so ``ours / crc32 (async pass)`` is the writer's own overhead: the issue-4 ratio.

zipstream-ng and stream-zip are synchronous, so they read a sync source and are compared with the sync
loop (and with a sync pass-through generator for the same reason as above). stream-zip cannot compute
the CRC of stored data as it goes (it would buffer each file), so it is given size and CRC up front.
Peak RSS growth is read from /proc/self/status (VmHWM, reset through /proc/self/clear_refs) per run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audiofetch.zipstream import ZipEntry, zip_length, zip_stream

MiB = 1 << 20

Runner = Callable[[], Coroutine[Any, Any, int]]


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


class Workload:
    """The archive every contender writes: ``entries`` files of ``per_entry`` bytes in ``chunk`` pieces."""

    def __init__(self, total: int, entries: int, chunk: int) -> None:
        self.entries = entries
        self.chunk = chunk
        self.per_entry = total // entries
        self.chunks_per_entry = self.per_entry // chunk
        self.total = self.per_entry * entries
        self.payload = os.urandom(chunk)
        crc = 0
        for _ in range(self.chunks_per_entry):
            crc = zlib.crc32(self.payload, crc)
        self.entry_crc = crc

    def sync_chunks(self) -> Iterator[bytes]:
        payload = self.payload
        for _ in range(self.chunks_per_entry):
            yield payload

    async def async_chunks(self) -> AsyncIterator[bytes]:
        payload = self.payload
        for _ in range(self.chunks_per_entry):
            yield payload

    def names(self) -> list[str]:
        return [f"{i + 1:02d} - Track number {i + 1}.mp3" for i in range(self.entries)]


def contenders(work: Workload) -> dict[str, Runner]:
    import zipfile

    import stream_zip
    import zipstream

    async def crc32_sync_loop() -> int:
        n = 0
        for _ in range(work.entries):
            crc = 0
            for chunk in work.sync_chunks():
                crc = zlib.crc32(chunk, crc)
                n += len(chunk)
        return n

    async def crc32_async_pass() -> int:
        async def passthrough(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            crc = 0
            async for chunk in source:
                crc = zlib.crc32(chunk, crc)
                yield chunk

        n = 0
        for _ in range(work.entries):
            async for chunk in passthrough(work.async_chunks()):
                n += len(chunk)
        return n

    async def crc32_sync_pass() -> int:
        def passthrough(source: Iterator[bytes]) -> Iterator[bytes]:
            crc = 0
            for chunk in source:
                crc = zlib.crc32(chunk, crc)
                yield chunk

        n = 0
        for _ in range(work.entries):
            for chunk in passthrough(work.sync_chunks()):
                n += len(chunk)
        return n

    async def ours_async_source() -> int:
        entries = [ZipEntry(name, work.async_chunks(), size=work.per_entry) for name in work.names()]
        expected = zip_length(entries)
        n = 0
        async for chunk in zip_stream(entries):
            n += len(chunk)
        assert n == expected, (n, expected)
        return n

    async def ours_sync_source() -> int:
        entries = [ZipEntry(name, work.sync_chunks(), size=work.per_entry) for name in work.names()]
        n = 0
        async for chunk in zip_stream(entries):
            n += len(chunk)
        return n

    async def zipstream_ng() -> int:
        archive = zipstream.ZipStream(compress_type=zipfile.ZIP_STORED)
        for name in work.names():
            archive.add(work.sync_chunks(), name, size=work.per_entry)
        n = 0
        for chunk in archive:
            n += len(chunk)
        return n

    async def stream_zip_() -> int:
        when = datetime(2024, 1, 1)
        method = stream_zip.NO_COMPRESSION_64(work.per_entry, work.entry_crc)
        files = ((name, when, 0o644, method, work.sync_chunks()) for name in work.names())
        n = 0
        for chunk in stream_zip.stream_zip(files, chunk_size=work.chunk):
            n += len(chunk)
        return n

    return {
        "crc32 (sync loop)": crc32_sync_loop,
        "crc32 (async pass)": crc32_async_pass,
        "crc32 (sync pass)": crc32_sync_pass,
        "ours (async source)": ours_async_source,
        "ours (sync source)": ours_sync_source,
        "zipstream-ng": zipstream_ng,
        "stream-zip": stream_zip_,
    }


async def measure(work: Workload, rounds: int, clock: Callable[[], float]) -> dict[str, tuple[float, int]]:
    """Best MB/s and largest peak-RSS growth (KiB) per contender, over interleaved rounds."""
    runners = contenders(work)
    best: dict[str, float] = dict.fromkeys(runners, 0.0)
    rss: dict[str, int] = dict.fromkeys(runners, 0)
    can_reset = _reset_peak_rss()
    for round_no in range(rounds):
        order = list(runners.items())
        if round_no % 2:
            order.reverse()  # nobody always runs right after the same neighbour
        for name, runner in order:
            if can_reset:
                _reset_peak_rss()
            before = _status_kib("VmRSS")
            start = clock()
            produced = await runner()
            elapsed = clock() - start
            rss[name] = max(rss[name], _status_kib("VmHWM") - before)
            assert produced >= work.total, (name, produced)
            best[name] = max(best[name], work.total / elapsed / 1e6)
    return {name: (best[name], rss[name]) for name in runners}


def report(work: Workload, results: dict[str, tuple[float, int]], rounds: int) -> None:
    sync_loop = results["crc32 (sync loop)"][0]
    async_pass = results["crc32 (async pass)"][0]
    sync_pass = results["crc32 (sync pass)"][0]
    print(
        f"\n{work.total / MiB:.0f} MiB, {work.entries} entries, {work.chunk // 1024} KiB chunks "
        f"(best of {rounds} interleaved rounds)"
    )
    print(
        f"{'contender':<22}{'MB/s':>9}{'x crc32 loop':>14}{'x same-iteration pass':>23}{'peak RSS +MiB':>15}"
    )
    for name, (speed, rss_kib) in results.items():
        reference = sync_pass if name in ("zipstream-ng", "stream-zip", "crc32 (sync pass)") else async_pass
        if name == "crc32 (sync loop)":
            reference = sync_loop
        print(
            f"{name:<22}{speed:>9.0f}{speed / sync_loop:>13.3f}x{speed / reference:>22.3f}x"
            f"{rss_kib / 1024:>15.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--entries", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", default="65536,8192", help="comma-separated chunk sizes in bytes")
    parser.add_argument("--wall", action="store_true", help="time with the wall clock, not CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.thread_time
    print(
        f"Python {sys.version.split()[0]}, zlib {zlib.ZLIB_RUNTIME_VERSION}, {os.cpu_count()} CPUs, "
        f"{'wall' if args.wall else 'CPU'} time"
    )
    for chunk in (int(c) for c in args.chunks.split(",")):
        work = Workload(int(args.gib * (1 << 30)), args.entries, chunk)
        report(work, asyncio.run(measure(work, args.rounds, clock)), args.rounds)


if __name__ == "__main__":
    main()
