"""Server speed benchmark (issue 15): browser-mode stream CPU, concurrent streams, event fan-out, /healthz.

Usage: ``.venv/bin/python bench/speed.py [--rounds 3] [--tracks 8] [--size-mib 8] [--streams 20]
[--subscribers 200] [--submit-seconds 5] [--health-streams 10]``. A few minutes with the defaults.

nginx serves the tracks from /dev/shm (``bench/server.py``'s set-up); ``audiofetch serve`` runs as a child.
Every figure is a ratio against a reference taken in the same run, in interleaved rounds, because the
machine is shared and absolute numbers swing; each round's ratio is printed, then the range.

1. CPU per GiB: the server's user + system time (``/proc/PID/stat``) while curl reads one browser-mode
   ZIP of ``--tracks`` x ``--size-mib`` to tmpfs, against curl's own CPU (``wait4``, as ``/usr/bin/time
   -v`` reports it) fetching the same files from nginx with ``--parallel``;
2. ``--streams`` browser-mode ZIPs read at once by as many curls, against as many curls fetching the
   same files straight from nginx: bytes per second of wall time;
3. jobs accepted per second (``POST /api/download``, 8 at a time, each a new page URL) for
   ``--submit-seconds``, alone and with ``--subscribers`` SSE streams open on ``/api/events`` (no job
   filter, identified by address like curl, so each one is shown every job's events after the visibility
   check);
4. ``GET /healthz`` every 50 ms for 3 s idle (the shared machine's own latency), then while
   ``--health-streams`` ZIPs stream: p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
GIB = 1024**3
MIB = 1024**2


def bench_server() -> ModuleType:
    """``bench/server.py``, for nginx, the server process, ``Api``, ``Subscribers`` and ``probe_health``."""
    spec = importlib.util.spec_from_file_location("bench_server", HERE / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


S = bench_server()


def cpu_seconds(pid: int) -> float:
    """User + system time of a live process, from ``/proc/PID/stat``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_curl(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one curl, which must succeed."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"curl failed: {' '.join(argv[:6])} ...")
    return time.perf_counter() - began, usage.ru_utime + usage.ru_stime


def direct_curl(urls: list[str], out: Path, workers: int) -> list[str]:
    argv = ["curl", "--silent", "--fail", "--parallel", "--parallel-max", str(workers)]
    argv += ["--output-dir", str(out)]
    for url in urls:
        argv += ["-O", url]
    return argv


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} (median {statistics.median(values):.2f})"


async def ready_job(api: Any, page: str, workers: int) -> str:
    job_id = str(await api.submit(page, workers))
    await api.wait_ready(job_id)
    return job_id


async def cpu_per_gib(api: Any, pid: int, nginx: str, args: argparse.Namespace, out: Path) -> list[float]:
    """1. Server CPU per GiB streamed over curl's CPU per GiB fetched, one ratio per round."""
    names = [f"t{n:02d}.mp3" for n in range(1, args.tracks + 1)]
    payload = args.tracks * args.size_mib * MIB
    ratios = []
    for round_ in range(args.rounds):
        job_id = await ready_job(api, f"{nginx}/page.html?cpu={round_}", args.workers)
        before = cpu_seconds(pid)
        zip_path = out / "stream.zip"
        seconds, size = await S.curl_stream(f"{api.base}/api/stream/{job_id}", str(zip_path))
        server_cpu = cpu_seconds(pid) - before
        S.check_zip(zip_path, args.tracks, args.size_mib * MIB)
        zip_path.unlink()
        direct = out / "direct"
        direct.mkdir(exist_ok=True)
        _, curl_cpu = await asyncio.to_thread(
            run_curl, direct_curl([f"{nginx}/{n}" for n in names], direct, args.workers)
        )
        for path in direct.iterdir():
            path.unlink()
        ours, theirs = server_cpu / (size / GIB), curl_cpu / (payload / GIB)
        ratios.append(ours / theirs)
        print(
            f"  round {round_ + 1}: server {ours:.2f} s CPU/GiB ({size / seconds / MIB:.0f} MiB/s), "
            f"curl {theirs:.2f} s CPU/GiB: {ours / theirs:.2f}x",
            flush=True,
        )
    return ratios


async def concurrent(api: Any, nginx: str, args: argparse.Namespace, out: Path) -> list[float]:
    """2. Throughput of ``--streams`` ZIP streams over that of as many direct curls, one ratio per round."""
    names = [f"t{n:02d}.mp3" for n in range(1, args.tracks + 1)]
    ratios = []
    for round_ in range(args.rounds):
        jobs = await asyncio.gather(
            *(
                ready_job(api, f"{nginx}/page.html?many={round_}-{n}", args.workers)
                for n in range(args.streams)
            )
        )
        began = time.perf_counter()
        results = await asyncio.gather(
            *(S.curl_stream(f"{api.base}/api/stream/{job}", "/dev/null") for job in jobs)
        )
        streamed = sum(size for _, size in results) / (time.perf_counter() - began)
        folders = [out / f"c{n}" for n in range(args.streams)]
        for folder in folders:
            folder.mkdir(exist_ok=True)
        began = time.perf_counter()
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    run_curl, direct_curl([f"{nginx}/{n}" for n in names], folder, args.workers)
                )
                for folder in folders
            )
        )
        fetched = args.streams * args.tracks * args.size_mib * MIB / (time.perf_counter() - began)
        for folder in folders:
            for path in folder.iterdir():
                path.unlink()
        ratios.append(streamed / fetched)
        print(
            f"  round {round_ + 1}: {args.streams} streams {streamed / MIB:.0f} MiB/s, "
            f"{args.streams} curls {fetched / MIB:.0f} MiB/s: {streamed / fetched:.2f}x",
            flush=True,
        )
    return ratios


async def accepted_per_second(api: Any, nginx: str, seconds: float, tag: str) -> float:
    """Jobs the server accepts per second, 8 submissions in flight, each for a new page URL."""
    accepted: list[str] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def submitter() -> None:
        while time.perf_counter() < deadline:
            body = {"url": f"{nginx}/event.html?{tag}={next(counter)}", "mode": "browser", "workers": 1}
            async with api.session.post(f"{api.base}/api/download", json=body) as response:
                data = await response.json()
                if response.status == 202:
                    accepted.append(str(data["id"]))

    began = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(8)))
    rate = len(accepted) / (time.perf_counter() - began)
    gate = asyncio.Semaphore(8)

    async def cancel(job_id: str) -> None:  # the next phase starts under the job limits again
        async with gate, api.session.post(f"{api.base}/api/jobs/{job_id}/cancel") as response:
            await response.read()

    await asyncio.gather(*(cancel(job_id) for job_id in accepted))
    return rate


class Listeners:
    """``count`` curls reading ``/api/events`` to files: the subscribers run in their own processes, so
    the submitting loop of this bench is not slowed by them and the figure is the server's."""

    def __init__(self, base: str, count: int, folder: Path) -> None:
        self.base, self.count, self.folder = base, count, folder
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def received(self) -> int:
        return sum(path.stat().st_size for path in self.folder.glob("sse-*"))

    async def __aenter__(self) -> Listeners:
        for n in range(self.count):
            argv = [
                "curl",
                "--silent",
                "--no-buffer",
                "-o",
                str(self.folder / f"sse-{n}"),
                f"{self.base}/api/events",
            ]
            self._processes.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        await asyncio.sleep(3)  # connected (each gets the first event, so a missing one shows as 0 bytes)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.wait()
        empty = [path for path in self.folder.glob("sse-*") if path.stat().st_size == 0]
        if empty:
            raise SystemExit(f"{len(empty)} SSE subscribers received nothing")


async def fan_out(api: Any, nginx: str, args: argparse.Namespace, out: Path) -> list[float]:
    """3. Jobs/s with the subscribers over jobs/s without, one ratio per round."""
    ratios = []
    for round_ in range(args.rounds):
        alone = await accepted_per_second(api, nginx, args.submit_seconds, f"alone{round_}")
        folder = out / f"sse{round_}"
        folder.mkdir()
        async with Listeners(api.base, args.subscribers, folder) as listeners:
            crowded = await accepted_per_second(api, nginx, args.submit_seconds, f"crowd{round_}")
            await asyncio.sleep(0.5)
        received = listeners.received
        shutil.rmtree(folder)
        ratios.append(crowded / alone)
        print(
            f"  round {round_ + 1}: {alone:.1f} jobs/s alone, {crowded:.1f} with {args.subscribers} "
            f"SSE subscribers ({received / args.subscribers / 1024:.0f} KiB each): {crowded / alone:.2f}x",
            flush=True,
        )
    return ratios


async def health(api: Any, nginx: str, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """4. /healthz round trips (ms) for 3 s idle (the machine's own latency), then while
    ``--health-streams`` ZIPs stream."""
    idle: list[float] = []
    await S.probe_health(api, asyncio.ensure_future(asyncio.sleep(3)), idle)
    jobs = await asyncio.gather(
        *(ready_job(api, f"{nginx}/page.html?health={n}", args.workers) for n in range(args.health_streams))
    )
    streams = asyncio.ensure_future(
        asyncio.gather(*(S.curl_stream(f"{api.base}/api/stream/{job}", "/dev/null") for job in jobs))
    )
    times: list[float] = []
    await S.probe_health(api, streams, times)
    await streams
    return idle, times


async def measure(args: argparse.Namespace, root: Path, nginx: str) -> None:
    env = S.bench_env()
    server, base = S.start_server(root, env)
    out = root / "out"
    out.mkdir()
    try:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        async with session:
            api = S.Api(session, base)
            summary = await figures(api, server.pid, nginx, args, out)
    finally:
        S.stop(server, signal.SIGTERM)
    print("\nsummary (ranges over rounds; the machine is shared, so figures are noisy)")
    print("\n".join(summary))
    print(f"  load average at the end {os.getloadavg()[0]:.2f}")


async def figures(api: Any, pid: int, nginx: str, args: argparse.Namespace, out: Path) -> list[str]:
    summary = []
    if "1" in args.parts:
        print(
            f"1. server CPU per GiB streamed / curl's per GiB fetched ({args.tracks} x {args.size_mib} MiB)"
        )
        cpu = await cpu_per_gib(api, pid, nginx, args, out)
        summary.append(f"  server CPU/GiB over curl's         {spread(cpu)}x   goal <= 3x")
    if "2" in args.parts:
        print(f"2. {args.streams} concurrent streams / {args.streams} direct curls, throughput")
        many = await concurrent(api, nginx, args, out)
        summary.append(
            f"  {args.streams} streams / {args.streams} curls throughput    {spread(many)}x   goal >= 0.5x"
        )
    if "3" in args.parts:
        print(f"3. jobs/s accepted with {args.subscribers} SSE subscribers / alone")
        fans = await fan_out(api, nginx, args, out)
        summary.append(f"  jobs/s with subscribers / alone    {spread(fans)}x   goal >= 0.5x")
    if "4" in args.parts:
        print(f"4. /healthz while {args.health_streams} ZIP streams run")
        idle, ms = await health(api, nginx, args)
        for label, values in (("idle", idle), (f"{args.health_streams} streams", ms)):
            p50, p99 = S.percentile(values, 0.5), S.percentile(values, 0.99)
            summary.append(
                f"  /healthz {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(values)} probes)"
                + ("   goal p99 < 50 ms" if values is ms else "")
            )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--submit-seconds", type=float, default=5.0)
    parser.add_argument("--health-streams", type=int, default=10)
    parser.add_argument("--parts", default="1234", help="which figures to measure, e.g. 3 or 14")
    args = parser.parse_args()
    S.ensure_tools()
    generate = argparse.Namespace(tracks=args.tracks, size_mib=args.size_mib, skip_rss=True)
    with S.workspace() as root:
        S.generate(root, generate)
        nginx, port = S.start_nginx(root)
        try:
            asyncio.run(measure(args, root, f"http://127.0.0.1:{port}"))
        finally:
            S.stop(nginx, signal.SIGQUIT)


if __name__ == "__main__":
    main()
