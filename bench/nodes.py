"""Several nodes benchmark: jobs/s and streams/s for one and three AudioFetch nodes on PostgreSQL, and one
node on SQLite as the reference; everything on 127.0.0.1 (a throw-away PostgreSQL cluster, nginx, the nodes,
an album site in this process).

Usage: ``.venv/bin/python bench/nodes.py [--jobs 30] [--streams 24] [--concurrency 6] [--track-kib 512]``.

- jobs/s: ``--jobs`` server-mode jobs (an album of 2 tracks each) submitted at once through nginx, from the
  first request to the last job completed (each node runs ``AUDIOFETCH_MAX_RUNNING_JOBS`` = 3 at a time);
- streams/s: ``--streams`` browser-mode ZIPs (``GET /zip?url=...``, 3 tracks each) read whole by
  ``--concurrency`` clients at once, through nginx.

On a machine with few cores the nodes compete with the site, nginx and PostgreSQL for them: the figures
say what the coordination costs more than how far three machines would go.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pg.cluster import running_cluster
from tests.pg.nodes import ADMIN_PASSWORD, Cluster, Site, running_nodes, serving

LIMITS = {
    "AUDIOFETCH_MAX_JOBS_PER_CLIENT": "1000",
    "AUDIOFETCH_MAX_JOBS_PER_ADDRESS": "10000",
    "AUDIOFETCH_MAX_ACTIVE_JOBS": "10000",
    "AUDIOFETCH_LEASE_SECONDS": "30",
}


async def jobs_per_second(cluster: Cluster, site: Site, count: int) -> float:
    async with aiohttp.ClientSession() as session:
        login = {"password": ADMIN_PASSWORD}
        async with session.post(f"{cluster.proxy}/api/auth/login", json=login) as response:
            token = (await response.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()

        async def submit(n: int) -> str:
            body = {"url": f"{site.base}/album.html?job={n}", "mode": "server", "tags": False}
            async with session.post(f"{cluster.proxy}/api/download", json=body, headers=auth) as response:
                assert response.status == 202, await response.text()
                job_id: str = (await response.json())["id"]
                return job_id

        ids = set(await asyncio.gather(*(submit(n) for n in range(count))))
        while True:
            async with session.get(f"{cluster.proxy}/api/jobs?limit=100", headers=auth) as response:
                jobs = [j for j in (await response.json())["jobs"] if j["id"] in ids]
            if all(j["status"] not in ("queued", "analyzing", "downloading") for j in jobs):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    failed = [j for j in jobs if j["status"] != "completed"]
    assert not failed, failed[:1]
    return count / elapsed


async def streams_per_second(
    cluster: Cluster, site: Site, count: int, concurrency: int
) -> tuple[float, float]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    total = 0

    async def client() -> None:
        nonlocal total
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
            while not queue.empty():
                n = queue.get_nowait()
                url = f"{cluster.proxy}/zip"
                async with session.get(url, params={"url": f"{site.base}/album.html?stream={n}"}) as response:
                    assert response.status == 200, await response.text()
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        total += len(chunk)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return count / elapsed, total / elapsed / 2**20


async def measure(label: str, database: str, nodes: int, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="audiofetch-bench-nodes-") as work:
        async with serving(Site.album(count=3, size=args.track_kib * 1024)) as site:
            site.chunk, site.pause = 256 * 1024, 0.0
            async with running_nodes(Path(work), database, count=nodes, **LIMITS) as cluster:
                jobs = await jobs_per_second(cluster, site, args.jobs)
                streams, mib = await streams_per_second(cluster, site, args.streams, args.concurrency)
    print(f"{label:<22} {jobs:>8.2f} jobs/s {streams:>8.2f} streams/s {mib:>8.1f} MiB/s", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--streams", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--track-kib", type=int, default=512)
    args = parser.parse_args()
    with running_cluster() as pg:
        admin = await asyncpg.connect(pg.url())
        for name in ("one", "three"):
            await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        await measure("SQLite, 1 node", "", 1, args)
        await measure("PostgreSQL, 1 node", pg.url("one"), 1, args)
        await measure("PostgreSQL, 3 nodes", pg.url("three"), 3, args)


if __name__ == "__main__":
    asyncio.run(main())
