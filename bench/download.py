"""Parallel download benchmark: ``audiofetch get PAGE`` against curl and aria2c, files served by nginx.

Usage: ``.venv/bin/python bench/download.py [--runs 3] [--workers 5] [--tracks 32] [--size-mib 8]
[--rate 4m] [--skip-throttled] [--engine-driver] [--content frames|noise] [--zip]``.

Installs nginx-light, aria2 and curl with apt-get when missing, generates the files in a tmpfs folder
(``/dev/shm``) so every tool reads from page cache and writes to memory, starts nginx on 127.0.0.1, then
interleaves the tools (best of N each), unthrottled and with ``limit_rate``.

audiofetch fetches the page and detects the tracks (Python start-up included); curl and aria2c get the
list of file URLs directly. Peak RSS is each tool's high-water resident set (``VmHWM``), polled every 2 ms;
CPU is user + system time from ``wait4`` (what ``/usr/bin/time -v`` reports). For audiofetch the bytes it
handed to ``write(2)`` and friends (``wchar`` of ``/proc/self/io``, read as it exits) are shown against
the payload: on tmpfs nothing reaches a disk, so ``write_bytes`` would say 0. With ``--disk-out`` the
outputs go to a real disk and the bytes that reached its write-back are shown too.

``--content frames`` (default) serves MP3s made of MPEG frame headers over noise, with no tag: audiofetch
tags them (an ID3v2 tag in front, written while downloading), and its files are checked to be that tag
followed by the served bytes, the tag read back with mutagen. ``--content noise`` serves an empty ID3v2
header over noise, which nothing tags. ``--zip`` adds ``audiofetch get --zip`` to the tools.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
VENV_BIN = Path(sys.executable).parent
ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
FRAME_HEADER = b"\xff\xfb\x90\x64"  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames
FRAME_BYTES = 417

# audiofetch's own entry point, reporting the bytes the process wrote when it exits.
WRITES_WRAPPER = """
import atexit, os, sys
def report():
    with open("/proc/self/io") as io:
        fields = dict(line.split(": ") for line in io.read().splitlines())
    with open(os.environ["BENCH_WCHAR_FILE"], "w") as out:
        out.write(" ".join(fields[k] for k in ("wchar", "write_bytes", "cancelled_write_bytes")))
atexit.register(report)
from audiofetch.cli import main
sys.argv[0] = "audiofetch"
sys.exit(main())
"""

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    types {{ audio/mpeg mp3; text/html html; }}
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location /slow/ {{ alias {root}/www/; limit_rate {rate}; }}
    }}
}}
"""

# Used until `audiofetch get` exists: the same engine, page fetch and a minimal <audio src> scan included.
ENGINE_DRIVER = """
import asyncio, re, sys
from urllib.parse import urljoin
from audiofetch.config import Settings, parse_networks
from audiofetch.download import DirectorySink, download_all
from audiofetch.models import Track
from audiofetch.net import open_fetcher

async def main(page_url, out, workers):
    settings = Settings(allow_networks=parse_networks("127.0.0.0/8"))
    async with open_fetcher(settings) as fetcher:
        page = await fetcher.fetch_page(page_url)
        urls = re.findall(rb'<audio[^>]*src="([^"]+)"', page.body)
        tracks = [Track(urljoin(page.url, u.decode()), index=i) for i, u in enumerate(urls, 1)]
        report = await download_all(fetcher, tracks, DirectorySink(out), workers=workers, settings=settings,
                                    referer=page.url)
    sys.exit(0 if not report.failed else 1)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    cpu_seconds: float = 0.0
    written: int | None = None  # bytes the process wrote (audiofetch only)
    disk: int | None = None  # of which reached the disk's write-back: write_bytes - cancelled_write_bytes


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("aria2c", "aria2"), ("curl", "curl"))
               if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()]  # fmt: skip
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env
        )


def mpeg_frames(size: int) -> bytes:
    """``size`` bytes of 417-byte MPEG audio frames: a valid header, then noise."""
    noise = bytearray(os.urandom(size))
    for offset in range(0, size - len(FRAME_HEADER) + 1, FRAME_BYTES):
        noise[offset : offset + len(FRAME_HEADER)] = FRAME_HEADER
    return bytes(noise)


def generate(root: Path, tracks: int, size: int, content: str) -> list[str]:
    www = root / "www"
    www.mkdir(parents=True)
    (root / "tmp").mkdir()
    names = [f"track{n:02d}.mp3" for n in range(1, tracks + 1)]
    for name in names:
        data = mpeg_frames(size) if content == "frames" else ID3 + os.urandom(size - len(ID3))
        (www / name).write_bytes(data)
    audio = "\n".join(
        f'<p>Track {n}</p><audio controls src="{name}"></audio>' for n, name in enumerate(names, 1)
    )
    (www / "index.html").write_text(
        f"<!DOCTYPE html><html><head><title>Bench</title></head><body>{audio}</body></html>"
    )
    os.chmod(root, 0o755)
    for path in [www, *www.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return names


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_nginx(root: Path, rate: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = root / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(user + NGINX_CONF.format(root=root, port=port, rate=rate))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)])
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"nginx did not start; see {root}/error.log")


def _high_water_kib(pid: int) -> int:
    """VmHWM of a live process (reset by exec, unlike ru_maxrss, which keeps the forking parent's size)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(argv: list[str], env: dict[str, str], wchar_file: Path | None = None) -> Run:
    began = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:
        peak = max(peak, _high_water_kib(process.pid))
        ended, status, usage = os.wait4(process.pid, os.WNOHANG)
        if ended:
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({process.returncode}): {stderr.strip()[-500:]}")
    written = disk = None
    if wchar_file is not None:
        wchar, write_bytes, cancelled = map(int, wchar_file.read_text().split())
        written, disk = wchar, write_bytes - cancelled
    return Run(elapsed, peak / 1024, usage.ru_utime + usage.ru_stime, written, disk)


def cli_available() -> bool:
    exe = VENV_BIN / "audiofetch"
    if not exe.exists():
        return False
    probe = subprocess.run([str(exe), "get", "--help"], capture_output=True, timeout=60)
    return probe.returncode == 0


def tools(
    page: str, urls: list[str], out: Path, workers: int, use_cli: bool, with_zip: bool
) -> dict[str, Callable[[], list[str]]]:
    listing = out.parent / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    get = [sys.executable, "-c", WRITES_WRAPPER, "get", page, "bench", "--out", str(out)]
    get += ["--workers", str(workers)]
    audiofetch = get if use_cli else [sys.executable, "-c", ENGINE_DRIVER, page, str(out), str(workers)]
    curl = [
        "curl",
        "--silent",
        "--fail",
        "--parallel",
        "--parallel-max",
        str(workers),
        "--output-dir",
        str(out),
    ]
    for url in urls:
        curl += ["-O", url]
    aria2 = ["aria2c", "-j", str(workers), "-x", "1", "-d", str(out), "-i", str(listing), "--quiet=true",
             "--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false"]  # fmt: skip
    found: dict[str, Callable[[], list[str]]] = {
        "audiofetch": lambda: audiofetch, "curl": lambda: curl, "aria2c": lambda: aria2,
    }  # fmt: skip
    if with_zip and use_cli:
        found["af --zip"] = lambda: [*get, "--zip"]
    return found


def _payload_after_tag(data: bytes) -> tuple[bytes, bytes]:
    """(ID3v2 tag, the rest) of a file audiofetch saved; the tag is empty when there is none."""
    if data[:3] != b"ID3":
        return b"", data
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | byte
    return data[: 10 + size], data[10 + size :]


def _check_tag(tag: bytes, name: str) -> None:
    """The tag audiofetch wrote reads back with mutagen and names the track (frames content only)."""
    import io

    from mutagen.id3 import ID3 as Id3Reader

    tags = Id3Reader(io.BytesIO(tag))
    if "TALB" not in tags or "TRCK" not in tags:
        raise SystemExit(f"{name}: the tag written has no album or track number: {tags.pprint()}")


def check_output(out: Path, tracks: int, size: int, sources: Path | None, content: str) -> None:
    """curl/aria2c: the right sizes. audiofetch (``sources`` given): the served bytes after its tag,
    which mutagen reads back when the files are MPEG frames; a ZIP is opened and checked the same way."""
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".m3u8"]
    if sources is None:
        sizes = sorted(p.stat().st_size for p in files)
        if len(files) != tracks or set(sizes) != {size}:
            raise SystemExit(f"wrong output in {out}: {len(files)} files, sizes {sorted(set(sizes))}")
        return
    contents = {p.name: p.read_bytes() for p in files}
    if len(files) == 1 and files[0].suffix == ".zip":
        with zipfile.ZipFile(files[0]) as archive:
            if archive.testzip() is not None:
                raise SystemExit("audiofetch's ZIP fails its CRC check")
            contents = {n: archive.read(n) for n in archive.namelist() if not n.endswith(".m3u8")}
    wanted = {hashlib.sha256(p.read_bytes()).hexdigest() for p in sources.glob("*.mp3")}
    got = set()
    for name, data in contents.items():
        tag, rest = _payload_after_tag(data)
        if content == "frames":
            _check_tag(tag, name)
            got.add(hashlib.sha256(rest).hexdigest())
        else:
            got.add(hashlib.sha256(data).hexdigest())
    if len(contents) != tracks or wanted != got:
        raise SystemExit("audiofetch output differs from the served files")


def measure(
    label: str, base: str, names: list[str], args: argparse.Namespace, root: Path, use_cli: bool
) -> None:
    page = f"{base}/index.html"
    urls = [f"{base}/{name}" for name in names]
    scratch = Path(tempfile.mkdtemp(prefix="out-", dir=args.disk_out or root))
    out = scratch / "files"
    commands = tools(page, urls, out, args.workers, use_cli, args.zip)
    wchar_file = scratch / "wchar"
    env = dict(os.environ, AUDIOFETCH_ALLOW_NETWORKS="127.0.0.0/8", BENCH_WCHAR_FILE=str(wchar_file))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files; so do we, after run 1
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    payload = args.tracks * args.size_mib * MIB
    for attempt in range(args.runs):
        for name, argv in commands.items():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            ours = name.startswith(("audiofetch", "af "))
            run = timed(argv(), env, wchar_file if ours and use_cli else None)
            check_output(out, args.tracks, args.size_mib * MIB, root / "www" if ours else None, args.content)
            print(f"  [{label}] run {attempt + 1} {name:<10} {describe(run, payload)}", flush=True)
            runs[name].append(run)
    shutil.rmtree(scratch, ignore_errors=True)
    best = {name: min(found, key=lambda run: run.seconds) for name, found in runs.items()}
    curl = best["curl"].seconds
    print(f"{label}: best of {args.runs} (ratios per round show the spread on a shared machine)")
    for name, run in best.items():
        ratios = [r.seconds / c.seconds for r, c in zip(runs[name], runs["curl"], strict=True)]
        spread = f"rounds {min(ratios):4.2f}-{max(ratios):4.2f}x"
        print(f"  {name:<10} {describe(run, payload)}  {run.seconds / curl:5.2f}x curl ({spread})")
    if "aria2c" in best:
        for name in [n for n in best if n.startswith(("audiofetch", "af "))]:
            print(f"  {name} / aria2c: {best[name].seconds / best['aria2c'].seconds:5.2f}x")
    if label != "unthrottled":
        rounds = math.ceil(args.tracks / args.workers)
        ideal = rounds * args.size_mib * MIB / _rate_bytes(args.rate)
        # nginx grants one second of credit up front (limit = rate * (elapsed + 1)), so one file alone
        # takes less than size/rate; the ceiling it really allows is rounds x one file's time.
        single = min(
            timed(["curl", "--silent", "--fail", "-o", "/dev/null", urls[0]], env).seconds for _ in range(2)
        )
        for name, run in best.items():
            print(
                f"  {name:<10} makespan {run.seconds / ideal:5.3f}x the ideal {ideal:.2f} s, "
                f"{run.seconds / (rounds * single):5.3f}x {rounds} x one file alone ({single:.2f} s)"
            )


def describe(run: Run, payload: int) -> str:
    text = f"{run.seconds:7.3f} s  cpu {run.cpu_seconds:6.3f} s  peak RSS {run.peak_rss_mib:6.1f} MiB"
    if run.written is not None:
        text += f"  wrote {run.written / payload:5.3f}x the payload"
    if run.disk:  # 0 on tmpfs, which has no write-back
        text += f" (to disk {run.disk / payload:5.3f}x)"
    return text


def _rate_bytes(rate: str) -> float:
    units = {"k": 1024, "m": MIB, "g": 1024 * MIB}
    return float(rate[:-1]) * units[rate[-1].lower()] if rate[-1].lower() in units else float(rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--tracks", type=int, default=32)
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--rate", default="4m", help="nginx limit_rate for the throttled round")
    parser.add_argument("--skip-throttled", action="store_true")
    parser.add_argument("--engine-driver", action="store_true", help="run the engine directly, not the CLI")
    parser.add_argument("--content", choices=("frames", "noise"), default="frames")
    parser.add_argument("--zip", action="store_true", help="also time `audiofetch get --zip`")
    parser.add_argument(
        "--disk-out",
        type=Path,
        help="write every tool's output under this folder on a real disk instead of tmpfs, to see the "
        "bytes that reach the disk (write_bytes - cancelled_write_bytes: a spool file deleted before "
        "write-back costs none); times then include the disk",
    )
    args = parser.parse_args()
    ensure_tools()
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="audiofetch-bench-", dir=shm))
    names = generate(root, args.tracks, args.size_mib * MIB, args.content)
    nginx, port = start_nginx(root, args.rate)
    use_cli = not args.engine_driver and cli_available()
    try:
        how = "the CLI" if use_cli else "the engine driver"
        print(f"{args.tracks} x {args.size_mib} MiB, {args.workers} connections, 127.0.0.1:{port}, via {how}")
        measure("unthrottled", f"http://127.0.0.1:{port}", names, args, root, use_cli)
        if not args.skip_throttled:
            measure(f"limit_rate {args.rate}", f"http://127.0.0.1:{port}/slow", names, args, root, use_cli)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
