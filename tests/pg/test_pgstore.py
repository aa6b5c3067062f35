"""The PostgreSQL store against the SQLite store's expectations (both run each shared test), then what
only several nodes need: limits under racing nodes, leases, take-over, and the event bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from audiofetch.errors import JobLimitError, JobNotFound
from audiofetch.jobs import (
    JOB_STATUS,
    Broker,
    JobSpec,
    JobStore,
    JobStoreAPI,
    JobTrack,
    PgEventBus,
    PgJobStore,
    safe_url,
)
from audiofetch.jobs._pgschema import PG_MIGRATIONS


def tracks(count: int) -> list[JobTrack]:
    return [JobTrack(i, f"https://example.com/{i}.mp3", title=f"Track {i}") for i in range(1, count + 1)]


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStoreAPI]:
    store: JobStoreAPI
    if request.param == "sqlite":
        store = await JobStore.open(tmp_path / "jobs.sqlite3")
    else:
        store = await PgJobStore.open(request.getfixturevalue("pg_url"), node="n1", lease_seconds=30)
    yield store
    await store.close()


async def test_create_get_update_tracks_and_delete(any_store: JobStoreAPI) -> None:
    spec = JobSpec("https://example.com/album", mode="server", name="Album", prefer=("flac",), selected=(2,))
    job = await any_store.create(spec)
    assert await any_store.get(job.id) == job
    updated = await any_store.update(job.id, status="analyzing", title="The Album", name="Folder")
    assert (updated.status, updated.title, updated.spec.name) == ("analyzing", "The Album", "Folder")
    assert await any_store.get(job.id) == updated
    await any_store.set_tracks(job.id, tracks(3))
    await any_store.update_track(job.id, 2, status="done", bytes_done=500, size=500, file_name="02.mp3")
    stored = await any_store.get(job.id)
    assert stored.tracks[1] == JobTrack(2, "https://example.com/2.mp3", "Track 2", "done", 500, 500, "02.mp3")
    assert [t.index for t in (await any_store.set_tracks(job.id, tracks(2))).tracks] == [1, 2]
    await any_store.delete(job.id)
    for missing in (
        any_store.get(job.id),
        any_store.delete(job.id),
        any_store.update_track(job.id, 1, bytes_done=1),
    ):
        with pytest.raises(JobNotFound):
            await missing


async def test_bad_fields_are_refused(any_store: JobStoreAPI) -> None:
    job = await any_store.create(JobSpec("https://example.com/"))
    with pytest.raises(TypeError, match="unknown field 'url'"):
        await any_store.update(job.id, url="https://elsewhere.example/")
    with pytest.raises(ValueError, match="status"):
        await any_store.update(job.id, status="paused")


async def test_lists_duplicates_and_owners(any_store: JobStoreAPI) -> None:
    created = [await any_store.create(JobSpec(f"https://example.com/{i}", client_id="you")) for i in range(5)]
    newest = [job.id for job in reversed(created)]
    assert [job.id for job in await any_store.list_jobs()] == newest
    assert [job.id for job in await any_store.list_jobs(limit=2, offset=1)] == newest[1:3]
    mine, made = await any_store.create_or_find_active(JobSpec("https://example.com/a", client_id="me"))
    again, fresh = await any_store.create_or_find_active(JobSpec("HTTPS://example.com/a#x", client_id="me"))
    theirs, also = await any_store.create_or_find_active(JobSpec("https://example.com/a", client_id="you"))
    assert made and also and not fresh and again.id == mine.id != theirs.id
    assert [job.id for job in await any_store.list_jobs(client_id="me")] == [mine.id]
    assert await any_store.count_active("you") == 6 and await any_store.count_active() == 7
    await any_store.update(mine.id, status="completed")
    assert await any_store.find_active("https://example.com/a", "server", client_id="me") is None
    assert [job.id for job in await any_store.active()][:1] == [created[0].id]


async def test_racing_requests_get_one_job_and_the_client_limit_holds(any_store: JobStoreAPI) -> None:
    spec = JobSpec("https://example.com/album", mode="server", client_id="c")
    results = await asyncio.gather(*(any_store.create_or_find_active(spec) for _ in range(20)))
    assert sum(created for _, created in results) == 1
    specs = [JobSpec(f"https://example.com/{i}", client_id="c") for i in range(12)]
    outcomes = await asyncio.gather(
        *(any_store.create_or_find_active(s, max_per_client=5) for s in specs), return_exceptions=True
    )
    assert sum(isinstance(o, JobLimitError) for o in outcomes) == 8
    assert await any_store.count_active("c") == 5


# -- several nodes on one database -------------------------------------------------------------------------


@pytest.fixture
async def nodes(pg_url: str) -> AsyncIterator[list[PgJobStore]]:
    stores = await asyncio.gather(
        *(PgJobStore.open(pg_url, node=f"n{i}", lease_seconds=30) for i in range(3))
    )
    yield list(stores)
    for store in stores:
        await store.close()


async def test_nodes_starting_together_migrate_once(nodes: list[PgJobStore], pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        versions = [row[0] for row in await conn.fetch("SELECT version FROM schema_version ORDER BY version")]
    finally:
        await conn.close()
    assert versions == [m.version for m in PG_MIGRATIONS] == [1, 2, 3, 4]


async def test_the_client_limit_holds_across_nodes_under_simultaneous_requests(
    nodes: list[PgJobStore],
) -> None:
    specs = [JobSpec(f"https://example.com/{i}", client_id="c") for i in range(30)]
    outcomes = await asyncio.gather(
        *(
            nodes[i % 3].create_or_find_active(s, max_per_client=4, max_active=100)
            for i, s in enumerate(specs)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(o, tuple) for o in outcomes) == 4
    assert all(isinstance(o, (tuple, JobLimitError)) for o in outcomes)
    assert await nodes[0].count_active("c") == 4


async def test_the_address_limit_holds_across_nodes_and_an_ended_job_frees_its_place(
    nodes: list[PgJobStore],
) -> None:
    specs = [JobSpec(f"https://example.com/{i}", client_id=f"c{i}") for i in range(9)]
    outcomes = await asyncio.gather(
        *(
            nodes[i % 3].create_or_find_active(s, address="192.0.2.7", max_per_address=2)
            for i, s in enumerate(specs)
        ),
        return_exceptions=True,
    )
    made = [o[0] for o in outcomes if isinstance(o, tuple)]
    assert len(made) == 2 and sum(isinstance(o, JobLimitError) for o in outcomes) == 7
    other, _ = await nodes[1].create_or_find_active(specs[8], address="198.51.100.1", max_per_address=2)
    await nodes[2].update(made[0].id, status="completed")
    again, created = await nodes[0].create_or_find_active(specs[7], address="192.0.2.7", max_per_address=2)
    assert created and other.id != again.id


async def set_lease(url: str, job_id: str, seconds_from_now: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE jobs SET lease_until = now() + make_interval(secs => $1) WHERE id = $2",
            seconds_from_now,
            job_id,
        )
    finally:
        await conn.close()


async def test_a_lapsed_lease_is_claimed_by_exactly_one_node_and_the_old_holder_loses_it(
    nodes: list[PgJobStore], pg_url: str
) -> None:
    a, b, c = nodes
    job = await a.create(JobSpec("https://example.com/x", mode="server"))
    assert await a.renew_leases([job.id]) == {job.id}
    assert await b.interrupted() == [] and await c.interrupted() == []  # held: nobody takes it
    await set_lease(pg_url, job.id, -1)  # node a went silent
    claimed = await asyncio.gather(b.interrupted(), c.interrupted())
    assert sorted(len(found) for found in claimed) == [0, 1]
    assert [j.id for found in claimed for j in found] == [job.id]
    assert await a.renew_leases([job.id]) == frozenset()  # a learns it lost the job
    holder = b if claimed[0] else c
    assert await holder.renew_leases([job.id]) == {job.id}
    await holder.update(job.id, status="completed")
    assert await holder.renew_leases([job.id]) == frozenset()  # ended: nothing to hold


async def test_progress_writes_do_not_move_the_lease_but_status_changes_do(nodes: list[PgJobStore]) -> None:
    a, b, _ = nodes
    job = await a.create(JobSpec("https://example.com/x", mode="browser"))
    await a.set_tracks(job.id, tracks(1))
    await b.update_track(job.id, 1, bytes_done=10)
    assert await a.renew_leases([job.id]) == {job.id}
    await b.update(job.id, status="downloading")  # b opened the stream: the job is b's now
    assert await a.renew_leases([job.id]) == frozenset()
    assert await b.renew_leases([job.id]) == {job.id}


async def test_events_published_on_one_node_reach_every_node_in_one_order(
    nodes: list[PgJobStore], pg_url: str
) -> None:
    buses = [await PgEventBus.open(store.pool, pg_url) for store in nodes]
    brokers = [Broker(relay=bus.relay, first_id=bus.last_id + 1) for bus in buses]
    for bus, broker in zip(buses, brokers, strict=True):
        bus.start(broker)
    subscriptions = [broker.subscribe() for broker in brokers]
    try:
        for n in range(5):
            brokers[n % 3].publish(JOB_STATUS, f"job{n}", {"n": n}, owner="o")
        received = []
        for subscription in subscriptions:
            events = [await anext(subscription) for _ in range(5)]
            received.append([(e.id, e.job_id, e.data["n"], e.owner) for e in events])
        assert received[0] == received[1] == received[2]
        assert sorted(n for _, _, n, _ in received[0]) == [0, 1, 2, 3, 4]
        ids = [event_id for event_id, *_ in received[0]]
        assert ids == sorted(ids) and len(set(ids)) == 5
        late = brokers[2].subscribe(last_event_id=ids[1])  # Last-Event-ID from node 0's stream, on node 2
        assert [(await anext(late)).id for _ in range(3)] == ids[2:]
    finally:
        for broker, bus in zip(brokers, buses, strict=True):
            broker.close()
            await bus.close()


def test_the_database_password_never_appears_in_messages() -> None:
    assert safe_url("postgresql://app:s3cret@db:5432/audiofetch") == "postgresql://app@db:5432/audiofetch"
    assert safe_url("postgresql://db/audiofetch") == "postgresql://db/audiofetch"
