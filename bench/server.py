"""Server benchmark: ``audiofetch serve`` against nginx on 127.0.0.1, files generated in ``/dev/shm``.

Usage: ``.venv/bin/python bench/server.py [--runs 5] [--workers 5] [--tracks 32] [--size-mib 8]
[--big-mib 256] [--big-tracks 20] [--small-big-tracks 4] [--subscribers 100] [--event-rounds 30]
[--skip-rss] [--server-log FILE]``. About a minute with the defaults.

Measures, against the goals of issue 5:

1. time to the first ZIP byte after analysis: submit a browser-mode job, wait for ``ready``, then time
   ``GET /api/stream/{id}`` from the request to the first body byte (median and best of ``--runs``);
2. ``/api/stream`` throughput (curl writing the ZIP to tmpfs) against ``audiofetch get PAGE --zip``
   (same page, same workers), in back-to-back pairs. Each compares streaming phases: stream opened to
   last byte, against the CLI's first ZIP byte on disk to its ``.part`` being renamed. The headline is
   the median of the paired ratios; best against best and the end-to-end ratio are printed too;
3. the server's resident set (VmRSS, every 0.2 s) while curl reads a 5 GiB browser-mode ZIP into
   /dev/null, against a 1 GiB one: one random file served by nginx under many names (symlinks), so
   the job costs one file of RAM plus the spool (``2 x workers`` tracks at most, also in tmpfs).
   ``GET /healthz`` is timed meanwhile: its worst round trips show how long the event loop stalls;
4. event latency with 100 SSE subscribers on ``GET /api/events`` (no job filter, identified by address
   like curl): from sending an action (submit, cancel, delete a job) to each subscriber parsing its
   event, first with the server idle, then while it streams the 5 GiB ZIP.

The server runs as a subprocess with a temporary data folder in /dev/shm; everything (nginx, the server,
curl, the CLI, the files) is stopped and removed on exit, Ctrl-C included. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from download import ID3, MIB, NGINX_CONF, free_port  # the sibling bench script

VENV_BIN = Path(sys.executable).parent
MB = 1_000_000
POLL = 0.02
RSS_INTERVAL = 0.2
RSS_FLAT_SLACK_MB = 15.0
GOAL_FIRST_BYTE_S = 1.0
GOAL_RATIO = 0.9
GOAL_RSS_MB = 150.0
GOAL_P99_MS = 250.0
_children: set[subprocess.Popen[bytes]] = set()
_async_children: set[int] = set()  # pids of curl and CLI runs


# -- set-up: tools, files, nginx, the server ---------------------------------------------------------


def ensure_tools() -> None:
    """nginx-light and curl, installed with apt-get when missing."""
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("curl", "curl"))
               if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()]  # fmt: skip
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env
        )


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as out:
        out.write(ID3)
        left = size - len(ID3)
        while left:
            chunk = min(left, 8 * MIB)
            out.write(os.urandom(chunk))
            left -= chunk


def _page(path: Path, title: str, srcs: list[str]) -> None:
    audio = "\n".join(
        f'<p>Track {n}</p><audio controls src="{src}"></audio>' for n, src in enumerate(srcs, 1)
    )
    path.write_text(f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{audio}</body></html>")


def generate(root: Path, args: argparse.Namespace) -> None:
    """``page.html`` (tracks x size), ``first.html`` (8 of them), ``big{1,5}.html`` (one file, many names)
    and ``event.html`` (one small track)."""
    www = root / "www"
    (www / "big").mkdir(parents=True)
    (root / "tmp").mkdir()
    names = [f"t{n:02d}.mp3" for n in range(1, args.tracks + 1)]
    for name in names:
        _write_random(www / name, args.size_mib * MIB)
    _page(www / "page.html", "Throughput", names)
    _page(www / "first.html", "First byte", names[:8])
    _write_random(www / "small.mp3", 64 * 1024)
    _page(www / "event.html", "Events", ["small.mp3"])
    if not args.skip_rss:
        _write_random(www / "big" / "source.bin", args.big_mib * MIB)
        big = [f"big/b{n:02d}.mp3" for n in range(1, args.big_tracks + 1)]
        for name in big:
            (www / name).symlink_to("source.bin")
        _page(www / "big1.html", "Small job", big[: args.small_big_tracks])
        _page(www / "big5.html", "Large job", big)
    os.chmod(root, 0o755)
    for path in [www, *www.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def start_nginx(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """download.py's nginx, in its own session so that Ctrl-C reaches only us and we stop it in order."""
    port = free_port()
    conf = root / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(user + NGINX_CONF.format(root=root, port=port, rate="4m"))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)], start_new_session=True)
    _children.add(process)
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
            return process, port
        time.sleep(0.05)
    raise SystemExit(f"nginx did not start; see {root}/error.log")


def bench_env() -> dict[str, str]:
    """The environment of the server and the CLI: loopback allowed, caps raised, an admin password set."""
    env = dict(os.environ, AUDIOFETCH_ALLOW_NETWORKS="127.0.0.0/8")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # One address is every client of this benchmark; the per-client caps are for real visitors.
    env.update(
        AUDIOFETCH_MAX_JOBS_PER_CLIENT="1000",
        AUDIOFETCH_MAX_ACTIVE_JOBS="1000",
        AUDIOFETCH_MAX_JOBS_PER_ADDRESS="10000",  # every bench client comes from 127.0.0.1
    )
    env.update(ADMIN_PASSWORD=secrets.token_urlsafe(16), SECRET_KEY=secrets.token_urlsafe(32))
    return env


def start_server(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (root / "server.log").open("wb")
    argv = [str(VENV_BIN / "audiofetch"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--data-dir", str(root / "data")]
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _children.add(process)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"audiofetch serve exited ({process.returncode}); see {root}/server.log")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return process, base
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"audiofetch serve did not answer; see {root}/server.log")


def stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _children.discard(process)


# -- small tools --------------------------------------------------------------------------------------


def vm_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no VmRSS for {pid}")


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def check_zip(path: Path, entries: int, size: int) -> None:
    """``entries`` tracks of ``size`` bytes with good CRCs; a playlist entry (m3u/m3u8) may come with them."""
    with zipfile.ZipFile(path) as archive:
        tracks = [i for i in archive.infolist() if not i.filename.lower().endswith((".m3u", ".m3u8"))]
        if len(tracks) != entries or {i.file_size for i in tracks} != {size}:
            listing = ", ".join(f"{i.filename} ({i.file_size})" for i in tracks if i.file_size != size)
            raise SystemExit(f"{path}: {len(tracks)} tracks, not {entries} of {size} bytes: {listing}")
        bad = archive.testzip()
        if bad is not None:
            raise SystemExit(f"{path}: CRC mismatch in {bad}")


@contextlib.asynccontextmanager
async def child(*argv: str, env: dict[str, str] | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    _async_children.add(process.pid)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        _async_children.discard(process.pid)


@dataclass
class Api:
    """The bench's HTTP client for the server (no cookie jar: identified by address, like curl)."""

    session: aiohttp.ClientSession
    base: str

    async def submit(self, url: str, workers: int, name: str = "bench") -> str:
        body = {"url": url, "name": name, "workers": workers, "mode": "browser"}
        async with self.session.post(f"{self.base}/api/download", json=body) as response:
            data = await response.json()
            if response.status != 202:
                raise SystemExit(f"POST /api/download: {response.status} {data}")
            return str(data["id"])

    async def wait_ready(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            async with self.session.get(f"{self.base}/api/status/{job_id}") as response:
                job: dict[str, Any] = await response.json()
            if job["status"] == "ready":
                return job
            if job["status"] in ("failed", "cancelled", "completed"):
                raise SystemExit(f"job {job_id} ended {job['status']}: {job.get('error')}")
            await asyncio.sleep(POLL)
        raise SystemExit(f"job {job_id} was not ready after {timeout} s")

    async def final_status(self, job_id: str) -> str:
        for _ in range(200):
            async with self.session.get(f"{self.base}/api/status/{job_id}") as response:
                job = await response.json()
            if job["status"] not in ("downloading", "ready"):
                return str(job["status"])
            await asyncio.sleep(POLL)
        return str(job["status"])


async def curl_stream(url: str, out: str) -> tuple[float, int]:
    """Seconds from start to last byte and bytes received, as ``curl -o OUT`` reports them."""
    report = "%{time_total} %{size_download}"
    async with child("curl", "--silent", "--show-error", "--fail", "-o", out, "-w", report, url) as process:
        stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"curl {url}: exit {process.returncode}: {stderr.decode().strip()}")
    seconds, size = stdout.decode().split()
    return float(seconds), int(size)


# -- 1. time to first ZIP byte --------------------------------------------------------------------------


async def first_byte(api: Api, page: str, workers: int, run: int) -> tuple[float, float]:
    """(headers, first body byte) in seconds after ``GET /api/stream`` was sent, for a ready job."""
    job_id = await api.submit(f"{page}?run={run}", workers)
    await api.wait_ready(job_id)
    began = time.perf_counter()
    async with api.session.get(f"{api.base}/api/stream/{job_id}") as response:
        headers = time.perf_counter() - began
        if response.status != 200:
            raise SystemExit(f"GET /api/stream: {response.status} {await response.text()}")
        first = await response.content.readany()
        body = time.perf_counter() - began
        received = len(first)
        async for chunk in response.content.iter_chunked(1024 * 1024):
            received += len(chunk)
    if response.content_length is not None and received != response.content_length:
        raise SystemExit(f"stream sent {received} bytes of {response.content_length}")
    if await api.final_status(job_id) != "completed":
        raise SystemExit(f"job {job_id} did not complete")
    return headers, body


# -- 2. throughput: /api/stream against audiofetch get --zip --------------------------------------------


@dataclass(frozen=True)
class Transfer:
    total: float  # submit (or process start) to last byte
    streaming: float  # stream opened (or first ZIP byte on disk) to last byte
    size: int


async def via_cli(page: str, out: Path, workers: int, env: dict[str, str]) -> Transfer:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    partial = out / "bench.zip.part"
    argv = [str(VENV_BIN / "audiofetch"), "get", page, "bench", "--zip", "--out", str(out)]
    began = time.perf_counter()
    first: float | None = None
    complete: float | None = None  # the .part renamed to bench.zip: the archive is whole
    async with child(*argv, "--workers", str(workers), env=env) as process:
        waiting = asyncio.ensure_future(process.communicate())
        while not waiting.done():
            if first is None:
                with contextlib.suppress(FileNotFoundError):
                    if partial.stat().st_size > 0:
                        first = time.perf_counter()
            elif complete is None and (out / "bench.zip").exists():
                complete = time.perf_counter()
            await asyncio.sleep(0.002)
        ended = time.perf_counter()
        _, stderr = waiting.result()
    if process.returncode != 0:
        raise SystemExit(f"audiofetch get failed ({process.returncode}): {stderr.decode().strip()[-500:]}")
    size = (out / "bench.zip").stat().st_size
    return Transfer(ended - began, (complete or ended) - (first or began), size)


async def via_stream(api: Api, page: str, out: Path, workers: int, run: int) -> Transfer:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    began = time.perf_counter()
    job_id = await api.submit(f"{page}?run={run}", workers)
    await api.wait_ready(job_id)
    seconds, size = await curl_stream(f"{api.base}/api/stream/{job_id}", str(out / "bench.zip"))
    ended = time.perf_counter()
    if await api.final_status(job_id) != "completed":
        raise SystemExit(f"job {job_id} did not complete")
    return Transfer(ended - began, seconds, size)


# -- 3. RSS during a large job ----------------------------------------------------------------------


@dataclass
class RssTrace:
    label: str
    size: int = 0
    seconds: float = 0.0
    before: float = 0.0
    samples: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)  # GET /healthz round trips: the loop's lag

    @property
    def peak(self) -> float:
        return max(self.samples)

    def quarter(self, which: int) -> float:
        n = max(1, len(self.samples) // 4)
        part = self.samples[:n] if which == 0 else self.samples[-n:]
        return statistics.median(part)


async def probe_health(api: Api, until: asyncio.Future[Any], into: list[float]) -> None:
    """Time ``GET /healthz`` every 50 ms until ``until`` is done: how long the loop keeps callers waiting."""
    while not until.done():
        began = time.perf_counter()
        async with api.session.get(f"{api.base}/healthz") as response:
            await response.read()
        into.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.05)


async def rss_during(api: Api, pid: int, page: str, label: str, workers: int) -> RssTrace:
    trace = RssTrace(label)
    job_id = await api.submit(page, workers, name=label.replace(" ", ""))
    await api.wait_ready(job_id)
    trace.before = vm_rss_mb(pid)
    reading = asyncio.ensure_future(curl_stream(f"{api.base}/api/stream/{job_id}", "/dev/null"))
    probing = asyncio.ensure_future(probe_health(api, reading, trace.health_ms))
    try:
        while not reading.done():
            trace.samples.append(vm_rss_mb(pid))
            await asyncio.wait({reading}, timeout=RSS_INTERVAL)
        trace.seconds, trace.size = reading.result()
        await probing
    finally:
        reading.cancel()
        probing.cancel()
    if await api.final_status(job_id) != "completed":
        raise SystemExit(f"job {job_id} did not complete")
    return trace


# -- 4. SSE event latency -------------------------------------------------------------------------------


class Subscribers:
    """``count`` SSE streams; ``arrivals[(type, job_id, status)]`` holds each one's parse time."""

    def __init__(self, base: str, count: int) -> None:
        self.base, self.count = base, count
        self.arrivals: dict[tuple[str, str, str | None], list[float]] = defaultdict(list)
        self.connected = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Subscribers:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        self._tasks = [asyncio.create_task(self._listen(self._session)) for _ in range(self.count)]
        for _ in range(500):
            if self.connected == self.count:
                return self
            for task in self._tasks:
                if task.done() and task.exception() is not None:
                    raise SystemExit(f"an SSE subscriber failed: {task.exception()}")
            await asyncio.sleep(POLL)
        raise SystemExit(f"only {self.connected} of {self.count} SSE streams opened")

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _listen(self, session: aiohttp.ClientSession) -> None:
        async with session.get(f"{self.base}/api/events") as response:
            if response.status != 200:
                raise RuntimeError(f"GET /api/events: {response.status} {await response.text()}")
            self.connected += 1
            kind, data = "", ""
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and data:
                    event = json.loads(data)
                    status = event["data"].get("status")
                    self.arrivals[(kind, event["job_id"], status)].append(time.perf_counter())
                    kind, data = "", ""

    async def wait_for(self, key: tuple[str, str, str | None], timeout: float = 10) -> list[float]:
        deadline = time.perf_counter() + timeout
        while len(self.arrivals[key]) < self.count:
            if time.perf_counter() > deadline:
                raise SystemExit(f"{key}: {len(self.arrivals[key])} of {self.count} subscribers got it")
            await asyncio.sleep(0.005)
        return self.arrivals[key]


async def event_rounds(
    api: Api, subs: Subscribers, page: str, rounds: int, busy: asyncio.Future[Any] | None = None
) -> dict[str, list[float]]:
    """Milliseconds from each action to each subscriber's event, by action; stops when ``busy`` ends."""
    latency: dict[str, list[float]] = defaultdict(list)
    for run in range(rounds):
        if busy is not None and busy.done():
            break
        began = time.perf_counter()
        job_id = await api.submit(f"{page}?event={run}&busy={busy is not None}", 1)
        created = await subs.wait_for(("job.created", job_id, "queued"))
        latency["submit -> job.created"] += [(t - began) * 1000 for t in created]
        await subs.wait_for(("job.status", job_id, "ready"), timeout=30)
        began = time.perf_counter()
        async with api.session.post(f"{api.base}/api/jobs/{job_id}/cancel") as response:
            if response.status != 200:
                raise SystemExit(f"cancel: {response.status} {await response.text()}")
        cancelled = await subs.wait_for(("job.completed", job_id, "cancelled"))
        latency["cancel -> job.completed"] += [(t - began) * 1000 for t in cancelled]
        began = time.perf_counter()
        async with api.session.delete(f"{api.base}/api/jobs/{job_id}") as response:
            if response.status != 200:
                raise SystemExit(f"delete: {response.status} {await response.text()}")
        deleted = await subs.wait_for(("job.deleted", job_id, None))
        latency["delete -> job.deleted"] += [(t - began) * 1000 for t in deleted]
    return latency


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str
    goal: str
    passed: bool


@dataclass
class Context:
    args: argparse.Namespace
    api: Api
    nginx: str
    root: Path
    env: dict[str, str]
    server_pid: int


async def figure_first_byte(ctx: Context) -> Row:
    args = ctx.args
    print(f"\n1. first ZIP byte after analysis (first.html, 8 x {args.size_mib} MiB)")
    firsts: list[float] = []
    for run in range(args.runs):
        headers, body = await first_byte(ctx.api, f"{ctx.nginx}/first.html", args.workers, run)
        firsts.append(body)
        print(f"  run {run + 1}: headers {headers * 1000:6.1f} ms, first body byte {body * 1000:6.1f} ms")
    median = statistics.median(firsts)
    value = f"{median * 1000:.0f} ms (best {min(firsts) * 1000:.0f})"
    return Row(
        "first ZIP byte after ready (median)", value, f"< {GOAL_FIRST_BYTE_S:g} s", median < GOAL_FIRST_BYTE_S
    )


async def figure_throughput(ctx: Context) -> Row:
    args, root = ctx.args, ctx.root
    total = args.tracks * args.size_mib * MIB
    print(f"\n2. throughput, {args.tracks} x {args.size_mib} MiB ({total / MB:.0f} MB), interleaved")
    cli_runs: list[Transfer] = []
    stream_runs: list[Transfer] = []
    page = f"{ctx.nginx}/page.html"
    for run in range(args.runs):
        cli = await via_cli(page, root / "out-cli", args.workers, ctx.env)
        stream = await via_stream(ctx.api, page, root / "out-stream", args.workers, run)
        if run == 0:
            check_zip(root / "out-cli" / "bench.zip", args.tracks, args.size_mib * MIB)
            check_zip(root / "out-stream" / "bench.zip", args.tracks, args.size_mib * MIB)
        cli_runs.append(cli)
        stream_runs.append(stream)
        print(f"  run {run + 1}: get --zip   {describe(cli)}")
        print(f"         /api/stream {describe(stream)}")
    shutil.rmtree(root / "out-cli", ignore_errors=True)
    shutil.rmtree(root / "out-stream", ignore_errors=True)
    # Each pair ran back to back, so it shared the machine's background load: the median of the paired
    # ratios is the headline; best-of-N rates swing with one lucky run on a busy machine.
    paired = statistics.median(c.streaming / s.streaming for c, s in zip(cli_runs, stream_runs, strict=True))
    cli_rate = statistics.median(mbps(t.size, t.streaming) for t in cli_runs)
    stream_rate = statistics.median(mbps(t.size, t.streaming) for t in stream_runs)
    best = min(t.streaming for t in cli_runs) / min(t.streaming for t in stream_runs)
    end_to_end = statistics.median(c.total / s.total for c, s in zip(cli_runs, stream_runs, strict=True))
    print(f"  median streaming phase: /api/stream {stream_rate:.1f} MB/s, get --zip {cli_rate:.1f} MB/s")
    print(
        f"  ratio {paired:.2f}x (median of the {len(cli_runs)} pairs; best against best {best:.2f}x); "
        f"end to end (submit or start to last byte) {end_to_end:.2f}x"
    )
    value = f"{stream_rate:.0f} vs {cli_rate:.0f} MB/s, ratio {paired:.2f}x (best {best:.2f}x)"
    return Row("/api/stream vs get --zip (median)", value, f">= {GOAL_RATIO:g}x", paired >= GOAL_RATIO)


async def figure_rss(ctx: Context) -> Row:
    args = ctx.args
    print(f"\n3. server RSS while curl reads a browser-mode ZIP (VmRSS every {RSS_INTERVAL} s)")
    traces = []
    for name, count in (("big1.html", args.small_big_tracks), ("big5.html", args.big_tracks)):
        size = count * args.big_mib * MIB
        label = f"{size / (1024 * MIB):.3g} GiB"
        trace = await rss_during(ctx.api, ctx.server_pid, f"{ctx.nginx}/{name}", label, args.workers)
        traces.append(trace)
        print(
            f"  {label} job ({count} x {args.big_mib} MiB = {size / MB:.0f} MB) at "
            f"{mbps(trace.size, trace.seconds):.0f} MB/s: RSS before {trace.before:.1f} MB, "
            f"peak {trace.peak:.1f}, first quarter {trace.quarter(0):.1f}, "
            f"last quarter {trace.quarter(-1):.1f} ({len(trace.samples)} samples)"
        )
        health = trace.health_ms
        print(
            f"  {'':>{len(label)}} /healthz meanwhile: p50 {percentile(health, 0.5):.1f} ms, "
            f"p99 {percentile(health, 0.99):.1f} ms, max {max(health):.1f} ms ({len(health)} requests)"
        )
    small, large = traces
    flat = large.peak <= small.peak + RSS_FLAT_SLACK_MB
    flat = flat and large.quarter(-1) <= large.quarter(0) + RSS_FLAT_SLACK_MB
    print(
        f"  flat: the larger job's peak within {RSS_FLAT_SLACK_MB:g} MB of the smaller one's, "
        f"its last quarter within {RSS_FLAT_SLACK_MB:g} MB of its first"
    )
    print(f"  process high-water mark so far (VmHWM): {vm_hwm_mb(ctx.server_pid):.1f} MB")
    value = f"{large.peak:.0f} MB ({small.label} job {small.peak:.0f}), {'flat' if flat else 'grows'}"
    return Row(
        f"server RSS peak, {large.label} job",
        value,
        f"< {GOAL_RSS_MB:g} MB, flat",
        large.peak < GOAL_RSS_MB and flat,
    )


def _report_latency(label: str, latency: dict[str, list[float]]) -> list[float]:
    every: list[float] = []
    for action, values in latency.items():
        every += values
        print(
            f"  {label:<6} {action:<24} p50 {percentile(values, 0.5):6.1f} ms"
            f"  p99 {percentile(values, 0.99):6.1f} ms  max {max(values):6.1f} ms  ({len(values)} deliveries)"
        )
    return every


async def figure_events(ctx: Context) -> Row:
    """Rounds with the server idle, then rounds while it streams a large ZIP to curl."""
    args = ctx.args
    busy_page = "page.html" if args.skip_rss else "big5.html"
    print(
        f"\n4. SSE event latency, {args.subscribers} subscribers, {args.event_rounds} rounds idle, "
        f"then up to {args.event_rounds} while {busy_page} streams to curl"
    )
    rss_idle = vm_rss_mb(ctx.server_pid)
    page = f"{ctx.nginx}/event.html"
    async with Subscribers(ctx.api.base, args.subscribers) as subs:
        rss_subscribed = vm_rss_mb(ctx.server_pid)
        idle = _report_latency("idle", await event_rounds(ctx.api, subs, page, args.event_rounds))
        job_id = await ctx.api.submit(f"{ctx.nginx}/{busy_page}?busy", args.workers, name="busy")
        await ctx.api.wait_ready(job_id)
        streaming = asyncio.ensure_future(curl_stream(f"{ctx.api.base}/api/stream/{job_id}", "/dev/null"))
        try:
            loaded = await event_rounds(ctx.api, subs, page, args.event_rounds, busy=streaming)
            under_load = bool(loaded) and not streaming.done()
            await streaming
        finally:
            streaming.cancel()
    busy = _report_latency("busy", loaded) if loaded else []
    if not under_load:
        print("  (the busy stream ended before the last round; use a larger job for a full busy phase)")
    print(
        f"  server RSS {rss_idle:.1f} MB before the subscribers, {rss_subscribed:.1f} MB with them, "
        f"{vm_rss_mb(ctx.server_pid):.1f} MB after"
    )
    p99_idle = percentile(idle, 0.99)
    p99_busy = percentile(busy, 0.99) if busy else float("nan")
    value = f"p99 {p99_idle:.0f} ms idle, {p99_busy:.0f} ms busy (p50 {percentile(idle, 0.5):.0f}"
    value += f"/{percentile(busy, 0.5):.0f})" if busy else ")"
    passed = p99_idle < GOAL_P99_MS and (not busy or p99_busy < GOAL_P99_MS)
    return Row(
        f"event latency, {args.subscribers} SSE subscribers", value, f"p99 < {GOAL_P99_MS:g} ms", passed
    )


async def measure(args: argparse.Namespace, root: Path, nginx: str, env: dict[str, str]) -> list[Row]:
    server, base = start_server(root, env)
    try:
        jar, timeout = aiohttp.DummyCookieJar(), aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
            print(f"nginx {nginx}, audiofetch serve {base} (pid {server.pid}), workers {args.workers}")
            print(
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work skews the figures)"
            )
            ctx = Context(args, Api(session, base), nginx, root, env, server.pid)
            rows = [await figure_first_byte(ctx), await figure_throughput(ctx)]
            if not args.skip_rss:
                rows.append(await figure_rss(ctx))
            rows.append(await figure_events(ctx))
            return rows
    finally:
        stop(server, signal.SIGINT)
        if args.server_log is not None:
            shutil.copyfile(root / "server.log", args.server_log)


def describe(transfer: Transfer) -> str:
    rate = mbps(transfer.size, transfer.streaming)
    return f"{transfer.streaming:6.3f} s streaming ({rate:6.1f} MB/s), {transfer.total:6.3f} s in all"


def mbps(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds > 0 else float("inf")


def print_table(rows: list[Row]) -> None:
    widths = [
        max(len(r.figure) for r in rows),
        max(len(r.value) for r in rows),
        max(len(r.goal) for r in rows),
    ]
    print()
    print(f"{'figure':<{widths[0]}}  {'measured':<{widths[1]}}  {'goal':<{widths[2]}}  result")
    for row in rows:
        result = "PASS" if row.passed else "MISS"
        print(f"{row.figure:<{widths[0]}}  {row.value:<{widths[1]}}  {row.goal:<{widths[2]}}  {result}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="audiofetch-server-bench-", dir=shm))
    try:
        yield root
    finally:
        for pid in list(_async_children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in list(_children):
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the first-byte and throughput tests")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--tracks", type=int, default=32, help="tracks of the throughput page")
    parser.add_argument("--size-mib", type=int, default=8, help="size of each throughput track")
    parser.add_argument("--big-mib", type=int, default=256, help="size of each track of the RSS jobs")
    parser.add_argument("--big-tracks", type=int, default=20, help="tracks of the large RSS job (5 GiB)")
    parser.add_argument("--small-big-tracks", type=int, default=4, help="tracks of the small RSS job (1 GiB)")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--event-rounds", type=int, default=30)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument(
        "--server-log",
        type=Path,
        help="keep the server's console output here (e.g. with PYTHONASYNCIODEBUG=1)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    ensure_tools()
    began = time.perf_counter()
    with workspace() as root:
        generate(root, args)
        nginx, port = start_nginx(root)
        try:
            rows = asyncio.run(measure(args, root, f"http://127.0.0.1:{port}", bench_env()))
        except KeyboardInterrupt:
            print("\ninterrupted; cleaning up", file=sys.stderr)
            raise SystemExit(130) from None
        finally:
            stop(nginx, signal.SIGQUIT)
    print_table(rows)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(f"\n(total {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
