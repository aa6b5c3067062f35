"""The server end to end with the real JobRunner: a local upstream site, real sockets, real ZIP readers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from tests.conftest import free_port
from tests.hardening_api.serverproc import wait_until_up
from tests.kit.wait import job_over_http, partial_file
from tests.web.apikit import (
    ADMIN_PASSWORD,
    REAL_RUNNER,
    SAME_ORIGIN,
    admin_settings,
    bearer,
    build_app,
    login,
)
from tests.web.upstream import Upstream, sha256

pytestmark = pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")

# three.mp3 is over 2 MiB so that half of it reaches the disk (the engine writes in 1 MiB batches).
ALBUM = [("one.mp3", 40_000), ("two.mp3", 90_000), ("three.mp3", 3_000_000)]


@pytest.fixture
def upstream() -> Upstream:
    site = Upstream()
    site.album("/album", ALBUM)
    site.pages["/empty"] = (
        "<!DOCTYPE html><html><head><title>Nothing</title></head><body><p>hi</p></body></html>"
    )
    return site


@pytest.fixture
async def origin(aiohttp_server, upstream: Upstream) -> TestServer:
    server: TestServer = await aiohttp_server(upstream.app())
    return server


def zip_hashes(body: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return sorted(
            sha256(archive.read(info)) for info in archive.infolist() if info.filename.endswith(".mp3")
        )


def expected_hashes(upstream: Upstream) -> list[str]:
    return sorted(sha256(upstream.tracks[name]) for name, _ in ALBUM)


async def test_browser_mode_streams_a_zip_of_the_upstream_tracks(
    client: TestClient, origin: TestServer, upstream: Upstream
) -> None:
    page = str(origin.make_url("/album"))
    response = await client.post("/api/download", json={"url": page, "name": "Harbour"}, headers=SAME_ORIGIN)
    assert response.status == 202
    job = await response.json()
    ready = await job_over_http(client, job["id"], "ready", "failed")
    assert ready["status"] == "ready" and ready["totals"]["tracks"] == 3
    stream = await client.get(f"/api/stream/{job['id']}")
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "application/zip"
    assert "Harbour.zip" in stream.headers["Content-Disposition"]
    body = await stream.read()
    assert int(stream.headers["Content-Length"]) == len(body)  # every upstream size was known
    assert zip_hashes(body) == expected_hashes(upstream)
    done = await job_over_http(client, job["id"], "completed", "failed")
    assert done["status"] == "completed"


async def test_zip_in_one_request(client: TestClient, origin: TestServer, upstream: Upstream) -> None:
    response = await client.get("/zip", params={"url": str(origin.make_url("/album")), "name": "Harbour"})
    assert response.status == 200
    assert zip_hashes(await response.read()) == expected_hashes(upstream)
    jobs = (await (await client.get("/api/jobs")).json())["jobs"]
    assert [job["url"] for job in jobs] == [str(origin.make_url("/album"))]


async def test_zip_and_preview_errors_come_before_the_first_byte(
    client: TestClient, origin: TestServer
) -> None:
    response = await client.get("/zip", params={"url": str(origin.make_url("/empty"))})
    assert response.status == 422
    assert "error" in await response.json()
    response = await client.get("/api/preview", params={"url": str(origin.make_url("/empty"))})
    assert response.status == 422
    response = await client.get("/zip", params={"url": "ftp://127.0.0.1/x"})
    assert response.status in (400, 403)


async def test_a_refused_target_sees_no_request(
    aiohttp_client, settings: Settings, origin: TestServer, upstream: Upstream
) -> None:
    closed = admin_settings(settings).with_overrides(allow_networks=())
    client = await aiohttp_client(build_app(closed))
    response = await client.get("/zip", params={"url": str(origin.make_url("/album"))})
    assert response.status == 403
    assert "error" in await response.json()
    assert upstream.seen == []


async def test_preview_lists_the_tracks(client: TestClient, origin: TestServer) -> None:
    response = await client.get("/api/preview", params={"url": str(origin.make_url("/album"))})
    assert response.status == 200
    detection = await response.json()
    assert [t["url"].rsplit("/", 1)[1] for t in detection["tracks"]] == [name for name, _ in ALBUM]


async def test_identical_submissions_give_one_job(client: TestClient, origin: TestServer) -> None:
    page = str(origin.make_url("/album"))
    first = await (await client.post("/api/download", json={"url": page}, headers=SAME_ORIGIN)).json()
    second = await (await client.post("/api/download", json={"url": page}, headers=SAME_ORIGIN)).json()
    assert second["id"] == first["id"]
    assert (first["duplicate"], second["duplicate"]) == (False, True)


async def test_a_second_stream_consumer_gets_409(
    client: TestClient, origin: TestServer, upstream: Upstream
) -> None:
    upstream.gates["two.mp3"] = asyncio.Event()
    job = await (
        await client.post("/api/download", json={"url": str(origin.make_url("/album"))}, headers=SAME_ORIGIN)
    ).json()
    await job_over_http(client, job["id"], "ready")
    first = await client.get(f"/api/stream/{job['id']}")
    assert first.status == 200
    second = await client.get(f"/api/stream/{job['id']}")
    assert second.status == 409
    assert "error" in await second.json()
    upstream.gates["two.mp3"].set()
    assert zip_hashes(await first.read()) == expected_hashes(upstream)


async def read_sse_until_completed(response: aiohttp.ClientResponse, job_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        frame = await asyncio.wait_for(response.content.readuntil(b"\r\n\r\n"), 30)
        if frame.startswith(b":"):
            continue
        event = json.loads(frame.split(b"data: ", 1)[1])
        if event["job_id"] == job_id:
            events.append(event)
            if event["type"] == "job.completed":
                return events


async def read_ws_until_completed(ws: aiohttp.ClientWebSocketResponse, job_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        event = json.loads(await asyncio.wait_for(ws.receive_str(), 30))
        if event["job_id"] == job_id:
            events.append(event)
            if event["type"] == "job.completed":
                return events


async def test_server_mode_with_login_listing_zip_delete_and_ordered_events(
    client: TestClient, origin: TestServer, upstream: Upstream
) -> None:
    token = await login(client)
    sse = await client.get("/api/events", headers=SAME_ORIGIN)
    async with client.ws_connect("/ws", headers=SAME_ORIGIN) as ws:
        response = await client.post(
            "/api/download",
            json={"url": str(origin.make_url("/album")), "name": "Harbour", "mode": "server"},
            headers=bearer(token),
        )
        assert response.status == 202
        job_id = (await response.json())["id"]
        # Both read at once: a WebSocket left unread answers no ping, and the server (0.2 s heartbeat)
        # would close it while the SSE stream is being read.
        by_sse, by_ws = await asyncio.gather(
            read_sse_until_completed(sse, job_id), read_ws_until_completed(ws, job_id)
        )
    sse.close()
    assert by_sse == by_ws
    assert by_sse[0]["type"] == "job.created"
    ids = [event["id"] for event in by_sse]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    progress: dict[int, list[int]] = {}
    for event in by_sse:
        if event["type"] == "track.progress":
            for track in event["data"]["tracks"]:
                if "bytes_done" in track:
                    progress.setdefault(track["index"], []).append(track["bytes_done"])
    for index, seen in progress.items():
        assert seen == sorted(seen), index
    job = await job_over_http(client, job_id, "completed", "failed")
    assert job["status"] == "completed"

    listing = await (await client.get("/api/downloads", headers=bearer(token))).json()
    names = [folder["name"] for folder in listing["downloads"]]
    assert names == ["Harbour"]
    response = await client.get("/api/downloads/Harbour/zip", headers=bearer(token))
    assert response.status == 200
    assert zip_hashes(await response.read()) == expected_hashes(upstream)
    response = await client.delete("/api/downloads/Harbour", headers=bearer(token))
    assert response.status == 200
    listing = await (await client.get("/api/downloads", headers=bearer(token))).json()
    assert listing["downloads"] == []
    response = await client.delete("/api/downloads/..%2Fsecret.key", headers=bearer(token))
    assert response.status in (400, 404)


def start_server(port: int, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AUDIOFETCH_DATA_DIR": str(data_dir),
        "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.web.server_main", str(port)],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_a_killed_server_resumes_its_server_mode_job(
    tmp_path: Path, origin: TestServer, upstream: Upstream
) -> None:
    upstream.gates["three.mp3"] = asyncio.Event()
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    proc = start_server(port, data_dir, log)
    try:
        # No pooled connections: the killed server's would be reused and hang.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            await asyncio.to_thread(wait_until_up, base, proc, log)
            async with session.post(f"{base}/api/auth/login", json={"password": ADMIN_PASSWORD}) as response:
                token = (await response.json())["token"]
            body = {"url": str(origin.make_url("/album")), "name": "Harbour", "mode": "server"}
            async with session.post(f"{base}/api/download", json=body, headers=bearer(token)) as response:
                assert response.status == 202, await response.text()
                job_id = (await response.json())["id"]

            def two_done(job: dict[str, Any]) -> bool:
                states = {t["url"].rsplit("/", 1)[1]: t["status"] for t in job["tracks"]}
                return states.get("one.mp3") == "done" and states.get("two.mp3") == "done"

            await job_over_http(session, job_id, base=base, until=two_done)
            await partial_file(data_dir / "downloads")  # the third track's first half, its rest held back
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            upstream.gates["three.mp3"].set()
            proc = start_server(port, data_dir, log)
            await asyncio.to_thread(wait_until_up, base, proc, log)
            job = await job_over_http(session, job_id, base=base)
            assert job["status"] == "completed", job
    finally:
        proc.kill()
        proc.wait(timeout=10)
    folder = data_dir / "downloads" / "Harbour"
    files = sorted(p for p in folder.iterdir() if p.suffix == ".mp3")
    assert sorted(sha256(p.read_bytes()) for p in files) == expected_hashes(upstream)
    others = [p.name for p in folder.iterdir() if p.suffix != ".mp3" and not p.name.startswith(".")]
    assert others == ["00 - Harbour Songs.m3u8"]  # the playlist; no .part file is left
    assert len(upstream.requests_for("one.mp3")) == 1
    assert len(upstream.requests_for("two.mp3")) == 1
    resumed = upstream.requests_for("three.mp3")
    assert len(resumed) == 2 and resumed[1] is not None and resumed[1].startswith("bytes=")
