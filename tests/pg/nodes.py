"""Three ``audiofetch serve`` processes on one PostgreSQL database and one shared data folder, behind a
real nginx that balances them round-robin, or sends a request to one node when it carries ``X-Node: N``
(so a test can say which node a browser reaches, still through the proxy). Every response names the node
that answered in ``X-Upstream``. Also the site the nodes download from: an album page and its tracks,
served in paced chunks with Range support, counting full and ranged requests per track."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ADMIN_PASSWORD = "correct horse battery staple"
BROWSER = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends on its own site's requests


# -- the site ------------------------------------------------------------------------------------------------


@dataclass
class Site:
    """``/album.html`` links ``tracks``; ``/slow/N.html`` never finishes (a job stays active)."""

    tracks: dict[str, bytes]
    chunk: int = 64 * 1024
    pause: float = 0.02
    base: str = ""
    full: Counter[str] = field(default_factory=Counter)
    ranged: Counter[str] = field(default_factory=Counter)
    sent_whole: Counter[str] = field(default_factory=Counter)  # transfers that reached the file's end
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def album(cls, count: int, size: int) -> Site:
        rng = random.Random(18)
        return cls(
            {
                f"t{i}.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + rng.randbytes(size)
                for i in range(1, count + 1)
            }
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/album.html", self._page)
        app.router.add_get("/slow/{n}.html", self._slow_page)
        app.router.add_get("/{name}.mp3", self._track)
        return app

    async def _page(self, request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="{name}">{name}</a></li>' for name in self.tracks)
        page = f"<html><head><title>Album</title></head><body><ul>{links}</ul></body></html>"
        return web.Response(text=page, content_type="text/html")

    async def _slow_page(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.Response(text="<html><body>nothing</body></html>", content_type="text/html")

    async def _track(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"] + ".mp3"
        data = self.tracks.get(name)
        if data is None:
            raise web.HTTPNotFound()
        start = request.http_range.start or 0
        (self.ranged if "Range" in request.headers else self.full)[name] += 1
        response = web.StreamResponse(status=206 if start else 200)
        response.content_type = "audio/mpeg"
        response.headers["Accept-Ranges"] = "bytes"
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        response.content_length = len(data) - start
        await response.prepare(request)
        for offset in range(start, len(data), self.chunk):
            await response.write(data[offset : offset + self.chunk])
            await asyncio.sleep(self.pause)
        await response.write_eof()
        self.sent_whole[name] += 1
        return response


@contextlib.asynccontextmanager
async def serving(site: Site) -> AsyncIterator[Site]:
    runner = web.AppRunner(site.app(), shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    site.base = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        site.release.set()
        await runner.cleanup()


# -- nginx and the nodes ------------------------------------------------------------------------------------


def nginx_conf(work: Path, port: int, nodes: list[int]) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {work / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    pools = "\n".join(
        f"    upstream node{n} {{ server 127.0.0.1:{p}; }}" for n, p in enumerate(nodes, start=1)
    )
    every = " ".join(f"server 127.0.0.1:{p} max_fails=0;" for p in nodes)
    choose = "\n".join(f"        {n} node{n};" for n in range(1, len(nodes) + 1))
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {work / "access.log"};
{temp}
    upstream audiofetch {{ {every} }}
{pools}
    map $http_x_node $backend {{
        default audiofetch;
{choose}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://$backend;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $http_connection;
            proxy_buffering off;
            proxy_read_timeout 1h;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@dataclass
class Node:
    number: int
    port: int
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@dataclass
class Cluster:
    proxy: str
    nodes: list[Node]
    data: Path
    database: str

    def node_by_name(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def logs(self) -> str:
        return "\n".join(
            f"--- node {n.number}\n{n.log.read_text(errors='replace')[-4000:]}" for n in self.nodes
        )


def _env(work: Path, database: str, name: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "AUDIOFETCH_DATA_DIR": str(work / "shared"),
        "AUDIOFETCH_DATABASE_URL": database,
        "AUDIOFETCH_NODE_NAME": name,
        "AUDIOFETCH_LEASE_SECONDS": "1.5",
        "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "AUDIOFETCH_TRUSTED_PROXIES": "127.0.0.1",
        "AUDIOFETCH_RENDER": "never",
        "AUDIOFETCH_LOG_LEVEL": "INFO",
        "SECRET_KEY": "the-nodes-share-this-key-0123456789abcdef",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **extra,
    }


async def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args!r} exited:\n{log.read_text(errors='replace')}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not come up:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def _stopping(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.asynccontextmanager
async def running_nodes(work: Path, database: str, count: int = 3, **extra: str) -> AsyncIterator[Cluster]:
    """``count`` nodes (started one after the other) and nginx in front; all stopped at the end."""
    ports = [free_port() for _ in range(count)]
    proxy_port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    nodes: list[Node] = []
    with _stopping(procs):
        for number, port in enumerate(ports, start=1):
            name, log = f"node{number}", work / f"node{number}.log"
            serve = [sys.executable, "-m", "audiofetch", "serve", "--host", "127.0.0.1", "--port", str(port)]
            with log.open("ab") as out:
                proc = subprocess.Popen(serve, cwd=REPO, env=_env(work, database, name, extra), stdout=out,
                                        stderr=subprocess.STDOUT)  # fmt: skip
            procs.append(proc)
            nodes.append(Node(number, port, name, proc, log))
            await _wait_up(f"http://127.0.0.1:{port}/healthz", proc, log)
        conf = work / "nginx.conf"
        conf.write_text(nginx_conf(work, proxy_port, ports), encoding="utf-8")
        nginx_log = work / "nginx.log"
        with nginx_log.open("ab") as out:
            nginx = subprocess.Popen([NGINX, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log"),
                                      "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(nginx)
        proxy = f"http://127.0.0.1:{proxy_port}"
        await _wait_up(f"{proxy}/healthz", nginx, work / "error.log")
        yield Cluster(proxy, nodes, work / "shared", database)
