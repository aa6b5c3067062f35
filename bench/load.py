"""Load benchmark: is ``audiofetch serve`` still responsive, bounded and within its limits under load?

Usage: ``.venv/bin/python bench/load.py [--seconds 25] [--streams 50] [--subscribers 200]
[--burst-clients 10] [--burst-size 10] [--tracks 4] [--size-kib 1024]``. Not run in CI.

nginx (as in ``bench/download.py``) serves an album page and its tracks from tmpfs; ``audiofetch serve``
runs as a child process with ``AUDIOFETCH_ALLOW_NETWORKS=127.0.0.0/8``. For the run time:

- ``--streams`` browser-mode ZIP streams, each a browser (``Sec-Fetch-Site``) reading ``/zip?url=...`` to
  the end, over and over, with a distinct page URL each time (the same URL would be a duplicate job);
- ``--subscribers`` SSE subscribers on ``/api/events`` as the admin, so every event fans out to all;
- bursts of job submissions: ``--burst-clients`` browsers (one cookie each) post ``--burst-size`` jobs at
  once, every second, then cancel what was accepted; past 5 jobs per client (and past the global cap)
  the answer must be 429 with ``Retry-After``;
- ``wrk -t2 -c32 -d15s --latency`` on ``GET /`` once the load is running (and 5 s idle first, to compare).

Prints p50/p99 of ``GET /`` idle and under load, request errors other than the intended 429s (must be
0), the server's RSS (start, peak ``VmHWM``) and whether the limits held.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
from yarl import URL

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ADMIN_PASSWORD = "load bench password 1"
BROWSER = {"Sec-Fetch-Site": "same-origin"}
MAX_ACTIVE_JOBS = 90
MAX_JOBS_PER_CLIENT = 5  # the default; the bench checks the server keeps it
EOCD = b"PK\x05\x06"


def bench_download() -> ModuleType:
    """``bench/download.py``, for its nginx set-up (``generate``, ``start_nginx``, ``free_port``)."""
    spec = importlib.util.spec_from_file_location("bench_download", HERE / "download.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def ensure_debian(tool: str, package: str) -> None:
    if shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists():
        return
    print(f"installing {package} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], check=True, env=env
    )


@dataclass
class Tally:
    """What the load saw. ``errors`` are failures that are not an intended 429, by kind."""

    errors: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)
    zips: int = 0
    bursts: int = 0
    zip_bytes: int = 0
    accepted: int = 0
    events: int = 0
    subscribers_open: int = 0
    most_active: int = 0
    most_per_client: int = 0
    limited_without_retry_after: int = 0
    rss_kib: list[int] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU seconds per second during wrk (1.0 = one core busy)

    def error(self, kind: str, detail: object = "") -> None:
        if not self.errors[kind]:
            print(f"  first {kind} error: {detail}", flush=True)
        self.errors[kind] += 1

    async def limit(self, kind: str, response: aiohttp.ClientResponse) -> None:
        if not self.limited[kind]:
            print(f"  first {kind} 429: {await response.text()}", flush=True)
        self.limited[kind] += 1
        if "Retry-After" not in response.headers:
            self.limited_without_retry_after += 1


async def stream_forever(number: int, base: str, page: str, tally: Tally, stop: asyncio.Event) -> None:
    """One browser reading whole ZIPs back to back; each response must be complete and end a ZIP."""
    iteration = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            iteration += 1
            url = f"{page}?stream={number}&i={iteration}"
            try:
                async with session.get(f"{base}/zip", params={"url": url}, headers=BROWSER) as response:
                    if response.status == 429:
                        await tally.limit("zip", response)
                        await asyncio.sleep(0.5)
                        continue
                    if response.status != 200:
                        tally.error("zip status", f"{response.status} {await response.text()}")
                        continue
                    size = 0
                    tail = b""
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        tail = (tail + chunk)[-(22 + 64) :]
                    announced = response.content_length
                    if (announced is not None and announced != size) or EOCD not in tail:
                        tally.error("zip body", f"{size} bytes of {announced}")
                        continue
                    tally.zips += 1
                    tally.zip_bytes += size
            except (TimeoutError, aiohttp.ClientError) as exc:
                if not stop.is_set():
                    tally.error("zip connection", repr(exc))


async def subscribe(base: str, token: str, tally: Tally, stop: asyncio.Event, ready: asyncio.Event) -> None:
    """One SSE subscriber as the admin (every job's events); counts data frames until told to stop."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.get(f"{base}/api/events", headers=headers) as response:
                if response.status != 200:
                    tally.error("sse status", response.status)
                    return
                tally.subscribers_open += 1
                ready.set()
                reader = asyncio.ensure_future(_count_events(response, tally))
                await stop.wait()
                if reader.done():
                    tally.error("sse ended early", reader.exception() or "end of stream")
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        except aiohttp.ClientError as exc:
            tally.error("sse connection", repr(exc))


async def _count_events(response: aiohttp.ClientResponse, tally: Tally) -> None:
    async for line in response.content:
        if line.startswith(b"data: "):
            tally.events += 1


async def burst_forever(
    clients: int, size: int, base: str, page: str, tally: Tally, stop: asyncio.Event
) -> None:
    """Every second: each client posts ``size`` jobs at once, then cancels those that were accepted."""
    # unsafe=True: aiohttp's jar otherwise drops cookies set by an IP address such as 127.0.0.1.
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(clients)]
    round_number = 0
    try:
        for client, session in enumerate(sessions):  # one job each first: the answer brings the cookie
            await _one_client_burst(session, client, 0, 1, base, page, tally)
            if not session.cookie_jar.filter_cookies(URL(base)):
                tally.error("no session cookie", client)
        while not stop.is_set():
            round_number += 1
            await asyncio.gather(
                *(
                    _one_client_burst(session, c, round_number, size, base, page, tally)
                    for c, session in enumerate(sessions)
                )
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        for session in sessions:
            await session.close()


async def _one_client_burst(
    session: aiohttp.ClientSession,
    client: int,
    round_number: int,
    size: int,
    base: str,
    page: str,
    tally: Tally,
) -> None:
    async def submit(n: int) -> str | None:
        body = {"url": f"{page}?burst={client}&round={round_number}&n={n}"}
        try:
            async with session.post(f"{base}/api/download", json=body, headers=BROWSER) as response:
                if response.status == 202:
                    job: dict[str, Any] = await response.json()
                    return str(job["id"])
                if response.status == 429:
                    await tally.limit("submit", response)
                else:
                    tally.error("submit status", f"{response.status} {await response.text()}")
        except aiohttp.ClientError as exc:
            tally.error("submit connection", repr(exc))
        return None

    accepted = [job for job in await asyncio.gather(*(submit(n) for n in range(size))) if job]
    tally.accepted += len(accepted)
    tally.bursts += 1
    tally.most_per_client = max(tally.most_per_client, len(accepted))

    async def cancel(job_id: str) -> None:
        try:
            async with session.post(f"{base}/api/jobs/{job_id}/cancel", headers=BROWSER) as response:
                if response.status != 200:
                    tally.error("cancel status", f"{response.status} {await response.text()}")
        except aiohttp.ClientError as exc:
            tally.error("cancel connection", repr(exc))

    await asyncio.gather(*(cancel(job_id) for job_id in accepted))


async def watch_limits(base: str, token: str, pid: int, tally: Tally, stop: asyncio.Event) -> None:
    """Sample the server's RSS and (as the admin) how many jobs are active."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            tally.rss_kib.append(status_kib(pid, "VmRSS"))
            try:
                async with session.get(f"{base}/api/jobs", params={"limit": "200"}, headers=headers) as r:
                    jobs = (await r.json())["jobs"]
                tally.most_active = max(tally.most_active, sum(1 for job in jobs if job["active"]))
            except (aiohttp.ClientError, KeyError, ValueError) as exc:
                tally.error("job list", repr(exc))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """``VmRSS`` or ``VmHWM`` of a live process, in KiB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Wrk:
    p50_ms: float
    p99_ms: float
    requests: int
    rps: float
    bad: int  # non-2xx/3xx responses plus socket errors

    @classmethod
    def parse(cls, text: str) -> Wrk:
        def millis(label: str) -> float:
            found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
            if found is None:
                raise SystemExit(f"cannot read the {label}th percentile from wrk:\n{text}")
            value, unit = float(found.group(1)), found.group(2)
            return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

        requests = re.search(r"(\d+) requests in", text)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
        non_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        bad = int(non_ok.group(1)) if non_ok else 0
        bad += sum(int(n) for n in sockets.groups()) if sockets else 0
        return cls(
            millis("50"),
            millis("99"),
            int(requests.group(1)) if requests else 0,
            float(rps.group(1)) if rps else 0.0,
            bad,
        )


async def wrk(base: str, seconds: int) -> Wrk:
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", f"{base}/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return Wrk.parse(out.decode())


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUDIOFETCH_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        AUDIOFETCH_DATA_DIR=str(data_dir),
        AUDIOFETCH_ALLOW_NETWORKS="127.0.0.0/8",
        AUDIOFETCH_MAX_ACTIVE_JOBS=str(MAX_ACTIVE_JOBS),
        AUDIOFETCH_MAX_JOBS_PER_CLIENT=str(MAX_JOBS_PER_CLIENT),
        # Every bench client comes from 127.0.0.1: the per-address limit would stand in for the others.
        AUDIOFETCH_MAX_JOBS_PER_ADDRESS="10000",
        AUDIOFETCH_LOG_LEVEL="WARNING",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "audiofetch", "serve"], cwd=REPO, env=env, stdout=out, stderr=out
        )


async def wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> str:
    """Wait for ``/healthz``, then log in as the admin and return the bearer token."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit("the server did not come up")
        async with session.post(f"{base}/api/auth/login", json={"password": ADMIN_PASSWORD}) as response:
            token: str = (await response.json())["token"]
    return token


async def run_load(args: argparse.Namespace, base: str, page: str, pid: int, token: str) -> tuple[Tally, Wrk]:
    tally = Tally()
    stop = asyncio.Event()
    ready = [asyncio.Event() for _ in range(args.subscribers)]
    tasks = [asyncio.create_task(subscribe(base, token, tally, stop, r)) for r in ready]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 60)
    tasks.append(asyncio.create_task(watch_limits(base, token, pid, tally, stop)))
    tasks += [asyncio.create_task(stream_forever(n, base, page, tally, stop)) for n in range(args.streams)]
    tasks.append(
        asyncio.create_task(burst_forever(args.burst_clients, args.burst_size, base, page, tally, stop))
    )
    warm_up = max(1.0, args.seconds - args.wrk_seconds - 2)
    await asyncio.sleep(warm_up)
    print(f"load running ({tally.zips} ZIPs so far); wrk for {args.wrk_seconds} s", flush=True)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    loaded = await wrk(base, args.wrk_seconds)
    tally.server_cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    await asyncio.sleep(max(0.0, args.seconds - warm_up - args.wrk_seconds))
    stop.set()
    await asyncio.gather(*tasks)
    return tally, loaded


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=25, help="length of the loaded phase")
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--burst-clients", type=int, default=10)
    parser.add_argument("--burst-size", type=int, default=10)
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--size-kib", type=int, default=1024)
    return parser.parse_args()


def report(args: argparse.Namespace, idle: Wrk, loaded: Wrk, tally: Tally, peak_kib: int) -> bool:
    errors = sum(tally.errors.values()) + loaded.bad
    start_rss = tally.rss_kib[0] / 1024 if tally.rss_kib else 0.0
    held = (
        tally.most_active <= MAX_ACTIVE_JOBS
        and tally.most_per_client <= MAX_JOBS_PER_CLIENT
        and tally.limited_without_retry_after == 0
        and tally.subscribers_open == args.subscribers
    )
    print()
    for label, run in (("idle", idle), ("under load", loaded)):
        print(f"GET / {label:<11} p50 {run.p50_ms:7.2f} ms   p99 {run.p99_ms:7.2f} ms   {run.rps:6.0f} req/s")
    print(f"ZIP streams       {tally.zips} complete ZIPs, {tally.zip_bytes / 2**20:.0f} MiB")
    print(
        f"SSE               {tally.subscribers_open}/{args.subscribers} open, {tally.events} events received"
    )
    print(
        f"submissions       {tally.bursts} client bursts, {tally.accepted} accepted, "
        f"429s: {dict(tally.limited)}"
    )
    print(
        f"limits            most active {tally.most_active}/{MAX_ACTIVE_JOBS}, most accepted per client "
        f"{tally.most_per_client}/{MAX_JOBS_PER_CLIENT}, "
        f"429 without Retry-After {tally.limited_without_retry_after}"
    )
    print(
        f"server CPU        {tally.server_cpu * 100:.0f}% of one core while wrk ran ({os.cpu_count()} CPUs)"
    )
    print(f"server RSS        start {start_rss:.0f} MiB, peak (VmHWM) {peak_kib / 1024:.0f} MiB")
    print(
        f"request errors    {errors} (besides the intended 429s) {dict(tally.errors)}; wrk bad {loaded.bad}"
    )
    print(f"limits held       {'yes' if held else 'NO'}")
    return errors == 0 and held


async def main_async(args: argparse.Namespace, root: Path) -> bool:
    download = bench_download()
    download.generate(root, args.tracks, args.size_kib * 1024)
    nginx, nginx_port = download.start_nginx(root, "1m")
    port = download.free_port()
    base, page = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{nginx_port}/index.html"
    proc = start_server(root / "data", port, root / "server.log")
    try:
        token = await wait_until_up(base, proc)
        idle = await wrk(base, 5)
        tally, loaded = await run_load(args, base, page, proc.pid, token)
        peak = status_kib(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 60)
        if code != 0:
            tally.error("server exit", code)
        return report(args, idle, loaded, tally, peak)
    finally:
        if proc.poll() is None:
            proc.kill()
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=10)


def main() -> int:
    args = parse_args()
    ensure_debian("nginx", "nginx-light")
    ensure_debian("wrk", "wrk")
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="audiofetch-load-", dir=shm if shm.is_dir() else None) as tmp:
        ok = asyncio.run(main_async(args, Path(tmp)))
        log = Path(tmp) / "server.log"
        unexpected = [line for line in log.read_text().splitlines() if "unexpected error" in line]
        if unexpected:
            print(f"server log: {len(unexpected)} unexpected errors, first: {unexpected[0]}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
