"""Weakness 1: one client could hold every outgoing connection and starve everyone else.

The attack: five browser-mode jobs with 20 workers each on tracks that send one byte every 0.2 s held
all 100 connections; another visitor's preview of a tiny page then waited for minutes. Now each client
(and each network address) holds at most its share, waiting for the global pool is bounded, probing has
an overall deadline and a transfer slower than the minimum rate is dropped and retried.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audiofetch.errors import FetchError
from audiofetch.net import ConnectionShares, Owner
from tests.hardening.netkit import eventually
from tests.hardening2.kit import Browser, browsers, serve, site

SHARE = 24  # AUDIOFETCH_CONNECTIONS_PER_CLIENT's default


async def test_one_client_dripping_tracks_cannot_starve_another_clients_preview(tmp_path: Path) -> None:
    async with (
        site() as album,
        serve(tmp_path) as server,
        browsers(server.base, "127.0.0.1", "127.0.0.2") as (attacker, visitor),
    ):
        for n in range(5):
            url = album.url(f"/album?n=20&kind=drip&title=Drip{n}")
            status, job = await attacker.submit(url, workers=20)
            assert status == 202, job
        assert await eventually(lambda: album.open_drips >= SHARE)

        status, preview = await visitor.json("GET", "/api/preview", params={"url": album.url("/tiny")})
        assert status == 200, preview
        assert [t["title"] for t in preview["tracks"]] == ["Tiny"]
        status, job = await visitor.submit(album.url("/tiny"))
        assert status == 202
        assert (await visitor.job(job["id"], "ready"))["tracks"][0]["size"] == 20_000
        assert album.most_drips <= SHARE


async def test_a_track_slower_than_the_minimum_rate_is_dropped_and_the_job_goes_on(tmp_path: Path) -> None:
    async with (
        site() as album,
        serve(
            tmp_path, AUDIOFETCH_MIN_RATE="1K", AUDIOFETCH_MIN_RATE_WINDOW="1", AUDIOFETCH_RETRIES="1"
        ) as server,
    ):
        admin = Browser(server.base)
        try:
            token = await asyncio.to_thread(server.admin)
            headers = {"Authorization": f"Bearer {token}"}
            url = album.url("/album?n=2&kind=drip,ok")
            status, job = await admin.json(
                "POST", "/api/download", json={"url": url, "mode": "server"}, headers=headers
            )
            assert status == 202, job
            done = await admin.job(job["id"], "completed", "failed")
        finally:
            await admin.close()
    assert done["status"] == "completed"
    slow, quick = done["tracks"]
    assert slow["status"] == "failed" and "slower than 1 KiB/s" in slow["error"]
    assert quick["status"] == "done"
    assert album.open_drips == 0


async def test_probing_has_an_overall_deadline(tmp_path: Path) -> None:
    async with (
        site() as album,
        serve(tmp_path, AUDIOFETCH_PROBE_DEADLINE="1") as server,
        browsers(server.base, "127.0.0.1") as (visitor,),
    ):
        status, job = await visitor.submit(album.url("/album?n=2&kind=drip,ok"))
        assert status == 202, job
        ready = await visitor.job(job["id"], "ready", "failed")
    assert ready["status"] == "ready"
    stuck, quick = ready["tracks"]
    assert stuck["status"] == "failed" and "no answer within the 1 s" in stuck["error"]
    assert quick["size"] == 20_000


async def test_waiting_for_a_connection_is_bounded_and_shares_are_per_owner() -> None:
    shares = ConnectionShares(total=3, per_group=2, per_job=5, wait=0.2)
    greedy = Owner("job-a", ("client:a", "addr:10.0.0.1"))
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(owner: Owner) -> None:
        async with shares.slot(owner, "http://x/"):
            held.set()
            await release.wait()

    holders = [asyncio.create_task(hold(greedy)) for _ in range(3)]
    await held.wait()
    await asyncio.sleep(0)
    third = holders[2]
    assert not third.done()  # the client's share (2) is full: the third waits for its own client

    other = Owner(None, ("client:b", "addr:10.0.0.2"))
    async with shares.slot(other, "http://y/"):  # another client still gets the pool's last slot
        with pytest.raises(FetchError, match="no free connection") as refused:
            async with shares.slot(Owner(None, ("client:c",)), "http://z/"):
                pass
        assert refused.value.retryable
    release.set()
    await asyncio.gather(*holders)
