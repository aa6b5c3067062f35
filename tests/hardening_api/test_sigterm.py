"""SIGTERM stops ``audiofetch serve`` gracefully: live streams end, the server-mode job survives the restart.

The real server runs as a child process; the upstream site runs in the test (loopback only, allowed by
``AUDIOFETCH_ALLOW_NETWORKS=127.0.0.0/8``), its tracks held back at half-way until the test lets them go.
"""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from audiofetch.jobs import JobStore
from audiofetch.web._services import STORE_FILE
from tests.conftest import free_port
from tests.hardening_api.serverproc import admin_token, server_env, start_server, stop, wait_until_up
from tests.kit.wait import job_over_http, partial_file
from tests.web.upstream import Upstream, sha256

SERVER_ALBUM = [("one.mp3", 40_000), ("two.mp3", 3_000_000)]  # two.mp3: over 2 MiB, so half reaches disk
BROWSER_ALBUM = [("b1.mp3", 30_000), ("b2.mp3", 200_000)]


@pytest.fixture
def upstream() -> Upstream:
    site = Upstream()
    site.album("/server-album", SERVER_ALBUM, title="Harbour Songs")
    site.album("/browser-album", BROWSER_ALBUM, title="Quay Songs")
    site.gates["two.mp3"] = asyncio.Event()
    site.gates["b2.mp3"] = asyncio.Event()
    return site


@pytest.fixture
async def origin(aiohttp_server, upstream: Upstream) -> AsyncIterator[TestServer]:
    server: TestServer = await aiohttp_server(upstream.app())
    yield server
    for gate in upstream.gates.values():  # let held handlers finish so the test server can close
        gate.set()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored_job(data_dir: Path, job_id: str) -> Any:
    store = await JobStore.open(data_dir / STORE_FILE)
    try:
        return await store.get(job_id)
    finally:
        await store.close()


def leftovers(data_dir: Path) -> list[str]:
    """Temporary files a clean stop must not leave: the browser spool and half-written playlists."""
    spool = [str(p) for p in (data_dir / "spool").rglob("*") if p.is_file()]
    temps = [str(p) for p in data_dir.rglob("*.tmp")]
    return spool + temps


# aiohttp's graceful stop waits up to run_app's shutdown_timeout (60 s) for each busy handler, then cancels
# it and waits up to 60 s more; nothing that should end at shutdown may rely on that.
EXIT_BOUND_SECONDS = 15


async def sigterm_scenario(
    tmp_path: Path, origin: TestServer, upstream: Upstream, *, zip_in_flight: bool
) -> None:
    """An SSE stream, a server-mode job half-way and (optionally) a browser ZIP half-way; then SIGTERM."""
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    env = server_env(data_dir, port, allow_networks="127.0.0.0/8")
    proc = start_server(env, log)
    try:
        await asyncio.to_thread(wait_until_up, base, proc, log)
        token = await asyncio.to_thread(admin_token, base)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            sse = await session.get(f"{base}/api/events", headers=bearer(token))
            assert sse.status == 200

            body = {"url": str(origin.make_url("/server-album")), "name": "Harbour", "mode": "server"}
            async with session.post(f"{base}/api/download", json=body, headers=bearer(token)) as response:
                assert response.status == 202, await response.text()
                job_id = (await response.json())["id"]
            await partial_file(data_dir / "downloads")

            if zip_in_flight:
                page = str(origin.make_url("/browser-album"))
                archive = await session.get(f"{base}/zip", params={"url": page, "name": "Quay"})
                assert archive.status == 200
                received = await asyncio.wait_for(archive.content.readexactly(20_000), 30)

            proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.to_thread(proc.wait, EXIT_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"still running {EXIT_BOUND_SECONDS} s after SIGTERM") from None
            assert code == 0, log.read_text()

            # The server closed the streams, so no read hangs.
            tail = await asyncio.wait_for(sse.content.read(), 10)
            assert b": closed: the server is shutting down" in tail
            sse.close()
            if zip_in_flight:
                with pytest.raises(aiohttp.ClientPayloadError):
                    received += await asyncio.wait_for(archive.content.read(), 10)
                with pytest.raises(zipfile.BadZipFile):  # a cut-off ZIP never passes for a whole one
                    zipfile.ZipFile(io.BytesIO(received))
                archive.close()

            assert leftovers(data_dir) == []
            job = await stored_job(data_dir, job_id)
            assert job.active and job.status == "downloading"  # so the next start resumes it

            for gate in upstream.gates.values():
                gate.set()
            proc = start_server(env, log)
            await asyncio.to_thread(wait_until_up, base, proc, log)
            done = await job_over_http(session, job_id, base=base)
            assert done["status"] == "completed", done
    finally:
        stop(proc)
    folder = data_dir / "downloads" / "Harbour"
    saved = sorted(sha256(p.read_bytes()) for p in folder.iterdir() if p.suffix == ".mp3")
    assert saved == sorted(sha256(upstream.tracks[name]) for name, _ in SERVER_ALBUM)
    assert not list(folder.glob("*.part"))
    assert len(upstream.requests_for("one.mp3")) == 1  # the finished track was not fetched again
    assert leftovers(data_dir) == []


async def test_sigterm_ends_the_event_stream_and_a_restart_finishes_the_server_job(
    tmp_path: Path, origin: TestServer, upstream: Upstream
) -> None:
    await sigterm_scenario(tmp_path, origin, upstream, zip_in_flight=False)


async def test_sigterm_also_ends_a_browser_zip_in_flight(
    tmp_path: Path, origin: TestServer, upstream: Upstream
) -> None:
    await sigterm_scenario(tmp_path, origin, upstream, zip_in_flight=True)
