"""Three AudioFetch nodes on one PostgreSQL behind nginx: take-over after SIGKILL, events across nodes,
ownership and limits as one node would apply them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import zipfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from audiofetch.download import WRITE_SIZE
from tests.pg.nodes import ADMIN_PASSWORD, BROWSER, Cluster, Site, running_nodes, serving

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serving(Site.album(count=6, size=3 * 1024 * 1024)) as running:
        yield running


@pytest.fixture
async def cluster(tmp_path: Path, pg_url: str) -> AsyncIterator[Cluster]:
    async with running_nodes(tmp_path, pg_url, AUDIOFETCH_MAX_JOBS_PER_CLIENT="3") as nodes:
        try:
            yield nodes
        except BaseException:
            print(nodes.logs())
            raise


def browser_session() -> aiohttp.ClientSession:
    """A client that keeps its cookies like a browser (aiohttp's jar refuses IP-address hosts by default)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def on(node: int) -> dict[str, str]:
    return {**BROWSER, "X-Node": str(node)}


async def admin_token(session: aiohttp.ClientSession, cluster: Cluster) -> str:
    async with session.post(f"{cluster.proxy}/api/auth/login", json={"password": ADMIN_PASSWORD}) as response:
        assert response.status == 200, await response.text()
        token: str = (await response.json())["token"]
        return token


async def submit(session: aiohttp.ClientSession, cluster: Cluster, node: int, body: dict[str, Any],
                 token: str | None = None) -> tuple[int, dict[str, Any], str]:  # fmt: skip
    headers = on(node) | ({"Authorization": f"Bearer {token}"} if token else {})
    async with session.post(f"{cluster.proxy}/api/download", json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers.get("X-Upstream", "")


async def wait_status(session: aiohttp.ClientSession, cluster: Cluster, job_id: str, node: int,
                      wanted: set[str]) -> dict[str, Any]:  # fmt: skip
    while True:
        async with session.get(f"{cluster.proxy}/api/status/{job_id}", headers=on(node)) as response:
            job: dict[str, Any] = await response.json()
        if job["status"] in wanted:
            return job
        await asyncio.sleep(0.1)


async def lease_and_progress(database: str, job_id: str) -> tuple[str | None, int, int]:
    conn = await asyncpg.connect(database)
    try:
        holder = await conn.fetchval("SELECT lease_node FROM jobs WHERE id = $1", job_id)
        partial = await conn.fetchval(
            "SELECT count(*) FROM tracks WHERE job_id = $1 AND status != 'done' AND bytes_done > 0", job_id
        )
        done = await conn.fetchval(
            "SELECT count(*) FROM tracks WHERE job_id = $1 AND status = 'done'", job_id
        )
    finally:
        await conn.close()
    return holder, partial, done


async def test_a_job_whose_node_is_killed_finishes_on_another_node_byte_exact(
    cluster: Cluster, site: Site
) -> None:
    async with aiohttp.ClientSession() as session:
        token = await admin_token(session, cluster)
        body = {
            "url": f"{site.base}/album.html",
            "mode": "server",
            "workers": 2,
            "tags": False,
            "name": "Album",
        }
        status, job, upstream = await submit(session, cluster, 1, body, token)
        assert status == 202, job
        assert upstream.endswith(f":{cluster.nodes[0].port}")
        folder = cluster.data / "downloads" / "Album"
        while True:  # mid-download: a track partly on disk (the engine writes 1 MiB at a time), not all done
            holder, _, done = await lease_and_progress(cluster.database, job["id"])
            parts = (
                [p for p in folder.glob("*.part") if p.stat().st_size >= WRITE_SIZE]
                if folder.is_dir()
                else []
            )
            if parts and done < len(site.tracks):
                break
            await asyncio.sleep(0.02)
        victim = cluster.node_by_name(holder or "")
        victim.kill()
        survivor = next(n for n in cluster.nodes if n is not victim).number
        finished = await wait_status(
            session, cluster, job["id"], survivor, {"completed", "failed", "cancelled"}
        )
    assert finished["status"] == "completed", (finished, cluster.logs())
    assert victim.process.returncode == -9
    holder, _, done = await lease_and_progress(cluster.database, job["id"])
    assert holder != victim.name and done == len(site.tracks)
    for track in finished["tracks"]:
        name = track["url"].rsplit("/", 1)[1]
        assert (folder / track["file_name"]).read_bytes() == site.tracks[name], name
    assert not list(folder.glob("*.part"))
    assert all(site.full[name] <= 1 for name in site.tracks), site.full  # no track fetched twice whole
    assert sum(site.ranged.values()) >= 1  # the interrupted track resumed with Range


async def read_sse(response: aiohttp.ClientResponse, until: str) -> AsyncGenerator[dict[str, Any], None]:
    """The events of an SSE response (data as JSON, with the id), up to and including type ``until``."""
    event: dict[str, Any] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("id: "):
            event["id"] = int(line[4:])
        elif line.startswith("data: "):
            event.update(json.loads(line[6:]))
        elif not line and "type" in event:
            yield event
            if event["type"] == until:
                return
            event = {}


async def test_sse_on_one_node_follows_a_job_running_on_another_with_replay(
    cluster: Cluster, site: Site
) -> None:
    async with aiohttp.ClientSession() as session:
        token = await admin_token(session, cluster)
        body = {"url": f"{site.base}/album.html", "mode": "server", "workers": 2, "tags": False}
        status, job, _ = await submit(session, cluster, 1, body, token)
        assert status == 202
        url = f"{cluster.proxy}/api/events?job={job['id']}"
        first: list[dict[str, Any]] = []
        async with session.get(url, headers=on(3)) as response:
            assert response.headers["X-Upstream"].endswith(f":{cluster.nodes[2].port}")
            async with contextlib.aclosing(read_sse(response, "job.completed")) as events:
                async for event in events:
                    first.append(event)
                    if event["type"] == "track.progress":
                        break  # the browser goes away mid-job
        rest: list[dict[str, Any]] = []
        replay = on(2) | {"Last-Event-ID": str(first[-1]["id"])}
        async with (  # it comes back on yet another node
            session.get(url, headers=replay) as response,
            contextlib.aclosing(read_sse(response, "job.completed")) as events,
        ):
            rest = [event async for event in events]
    ids = [e["id"] for e in first + rest]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # replay continues where it stopped, no repeat
    assert rest[-1]["type"] == "job.completed" and rest[-1]["data"]["status"] == "completed"
    done = {t["index"] for e in first + rest if e["type"] == "track.progress" for t in e["data"]["tracks"]
            if t.get("status") == "done"}  # fmt: skip
    assert done == set(range(1, len(site.tracks) + 1))
    holder, _, _ = await lease_and_progress(cluster.database, job["id"])
    assert holder == "node1"  # the job ran on node 1; nodes 3 and 2 only relayed its events


async def test_two_browsers_on_different_nodes_get_one_nodes_ownership_rules(
    cluster: Cluster, site: Site
) -> None:
    page = {"url": f"{site.base}/slow/1.html", "mode": "browser"}
    async with browser_session() as alice, browser_session() as bob:
        status, first, _ = await submit(alice, cluster, 1, page)
        assert status == 202 and first["duplicate"] is False
        status, again, _ = await submit(alice, cluster, 2, page)  # same browser, same page, another node
        assert status == 202 and again["id"] == first["id"] and again["duplicate"] is True
        status, theirs, _ = await submit(bob, cluster, 3, page)  # another browser: its own job
        assert status == 202 and theirs["id"] != first["id"] and theirs["duplicate"] is False
        async with bob.post(f"{cluster.proxy}/api/jobs/{first['id']}/cancel", headers=on(1)) as response:
            assert response.status == 403  # not bob's job, whichever node he asks
        for node in (1, 2, 3):
            async with bob.get(f"{cluster.proxy}/api/jobs", headers=on(node)) as response:
                assert [j["id"] for j in (await response.json())["jobs"]] == [theirs["id"]]
        async with alice.post(f"{cluster.proxy}/api/jobs/{first['id']}/cancel", headers=on(3)) as response:
            assert response.status == 200 and (await response.json())["status"] == "cancelled"


async def test_the_per_client_limit_holds_across_nodes_under_simultaneous_requests(
    cluster: Cluster, site: Site
) -> None:
    async with browser_session() as browser:
        status, _, _ = await submit(
            browser, cluster, 1, {"url": f"{site.base}/slow/0.html", "mode": "browser"}
        )
        assert status == 202  # the browser has its session (client id) now; one job of its 3
        results = await asyncio.gather(*(
            submit(browser, cluster, 1 + n % 3, {"url": f"{site.base}/slow/{n + 1}.html", "mode": "browser"})
            for n in range(9)
        ))  # fmt: skip
        upstreams = {upstream for _, _, upstream in results}
        async with browser.get(f"{cluster.proxy}/api/jobs", headers=on(2)) as response:
            listed = (await response.json())["jobs"]
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [202, 202] + [429] * 7, results
    assert len(upstreams) == 3  # the requests really went to all three nodes
    assert len([j for j in listed if j["status"] in ("queued", "analyzing")]) == 3


async def test_login_failures_and_logouts_count_on_every_node(cluster: Cluster) -> None:
    login = f"{cluster.proxy}/api/auth/login"
    async with aiohttp.ClientSession() as session:
        statuses = []
        for attempt in range(6):  # the throttle lets 4 failures pass, then delays: spread over the nodes
            async with session.post(
                login, json={"password": "wrong"}, headers=on(1 + attempt % 3)
            ) as response:
                statuses.append(response.status)
        assert statuses[:5] == [401] * 5 and statuses[5] == 429  # no node saw more than 2 of them itself

        token = await admin_token_when_allowed(session, cluster)
        bearer = {"Authorization": f"Bearer {token}"}
        for node in (1, 2, 3):
            async with session.get(f"{cluster.proxy}/api/auth/me", headers=on(node) | bearer) as response:
                assert (await response.json())["admin"] is True
        async with session.post(f"{cluster.proxy}/api/auth/logout", headers=on(3) | bearer) as response:
            assert response.status == 200
        for node in (1, 2):  # the other nodes learn it from the database (NOTIFY), not from node 3's memory
            while True:
                async with session.get(f"{cluster.proxy}/api/auth/me", headers=on(node) | bearer) as response:
                    if (await response.json())["admin"] is False:
                        break
                await asyncio.sleep(0.02)


async def admin_token_when_allowed(session: aiohttp.ClientSession, cluster: Cluster) -> str:
    """Log in once the throttle's delay is over (it answers 429 with Retry-After until then)."""
    while True:
        login = {"password": ADMIN_PASSWORD}
        async with session.post(f"{cluster.proxy}/api/auth/login", json=login, headers=on(2)) as response:
            if response.status == 200:
                token: str = (await response.json())["token"]
                return token
            assert response.status == 429
        await asyncio.sleep(0.2)


async def test_a_browser_job_analysed_on_one_node_streams_its_zip_from_another(
    cluster: Cluster, site: Site
) -> None:
    async with browser_session() as browser:
        page = {"url": f"{site.base}/album.html", "mode": "browser", "tags": False}
        status, job, _ = await submit(browser, cluster, 1, page)
        assert status == 202
        ready = await wait_status(browser, cluster, job["id"], 1, {"ready", "failed"})
        assert ready["status"] == "ready", ready
        async with browser.get(f"{cluster.proxy}/api/stream/{job['id']}", headers=on(2)) as response:
            assert response.status == 200, await response.text()
            assert response.headers["X-Upstream"].endswith(f":{cluster.nodes[1].port}")
            body = await response.read()
        finished = await wait_status(browser, cluster, job["id"], 3, {"completed", "failed"})
    assert finished["status"] == "completed", finished
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        audio = {
            info.filename: archive.read(info) for info in archive.infolist() if info.filename.endswith(".mp3")
        }
    assert sorted(audio.values()) == sorted(site.tracks.values())  # every track, byte-exact
    holder, _, _ = await lease_and_progress(cluster.database, job["id"])
    assert holder == "node2"  # the node that streamed it took the job over from the one that analysed it


async def test_jobs_a_busy_node_accepted_are_claimed_by_nodes_with_room(tmp_path: Path, pg_url: str) -> None:
    async with (
        serving(Site.album(count=2, size=2 * 1024 * 1024)) as site,
        running_nodes(tmp_path, pg_url, AUDIOFETCH_MAX_RUNNING_JOBS="1") as cluster,
        aiohttp.ClientSession() as session,
    ):
        token = await admin_token(session, cluster)
        jobs = []
        for n in range(3):  # all sent to node 1, which runs one at a time
            body = {"url": f"{site.base}/album.html?n={n}", "mode": "server", "tags": False, "name": f"A{n}"}
            status, job, _ = await submit(session, cluster, 1, body, token)
            assert status == 202
            jobs.append(job)
        finished = [await wait_status(session, cluster, j["id"], 2, {"completed", "failed"}) for j in jobs]
        assert [j["status"] for j in finished] == ["completed"] * 3
        holders = {(await lease_and_progress(cluster.database, j["id"]))[0] for j in jobs}
        for n, job in enumerate(finished):
            for track in job["tracks"]:
                saved = cluster.data / "downloads" / f"A{n}" / track["file_name"]
                assert saved.read_bytes() == site.tracks[track["url"].rsplit("/", 1)[1]]
    assert len(holders) >= 2, holders  # node 1 kept one; nodes with room took the others
    assert all(count == 3 for count in site.full.values()), site.full  # each track fetched once per job


async def test_a_job_cancelled_on_another_node_stops_downloading_where_it_runs(
    tmp_path: Path, pg_url: str
) -> None:
    async with (
        serving(Site.album(count=6, size=3 * 1024 * 1024)) as site,
        running_nodes(tmp_path, pg_url, AUDIOFETCH_LEASE_SECONDS="60") as cluster,  # renewals 20 s apart
        aiohttp.ClientSession() as session,
    ):
        token = await admin_token(session, cluster)
        body = {"url": f"{site.base}/album.html", "mode": "server", "workers": 2, "tags": False}
        status, job, _ = await submit(session, cluster, 1, body, token)
        assert status == 202
        while not sum(site.full.values()):  # node 1 is downloading
            await asyncio.sleep(0.02)
        bearer = on(2) | {"Authorization": f"Bearer {token}"}
        async with session.post(f"{cluster.proxy}/api/jobs/{job['id']}/cancel", headers=bearer) as response:
            assert response.status == 200 and (await response.json())["status"] == "cancelled"
        while True:  # node 1 learns it from the event bus, not at its next lease renewal
            holder, _, _ = await lease_and_progress(cluster.database, job["id"])
            log = cluster.nodes[0].log.read_text()
            if "is no longer held here" in log:
                break
            await asyncio.sleep(0.05)
    assert sum(site.sent_whole.values()) < len(site.tracks)  # it stopped before fetching the whole album
    assert holder == "node2"
