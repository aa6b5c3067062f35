"""The SQLite job store on real files: CRUD, migrations, restarts, failures, batching and concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from audiofetch.errors import JobError, JobNotFound
from audiofetch.jobs import MIGRATIONS, JobSpec, JobStore, JobTrack, Migration


def tracks(count: int) -> list[JobTrack]:
    return [JobTrack(i, f"https://example.com/{i}.mp3", title=f"Track {i}") for i in range(1, count + 1)]


def schema_versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


async def test_create_get_update_and_delete(store: JobStore) -> None:
    spec = JobSpec(
        "https://example.com/album", mode="server", name="Album", prefer=("flac", "mp3"), selected=(2,)
    )
    job = await store.create(spec)
    assert await store.get(job.id) == job
    assert job.status == "queued" and job.created_at == job.updated_at

    updated = await store.update(job.id, status="analyzing", title="The Album", player="jplayer")
    assert (updated.status, updated.title, updated.player, updated.spec) == (
        "analyzing",
        "The Album",
        "jplayer",
        spec,
    )
    assert updated.updated_at >= job.updated_at
    assert await store.get(job.id) == updated

    with_tracks = await store.set_tracks(job.id, tracks(3))
    assert [t.index for t in with_tracks.tracks] == [1, 2, 3]
    await store.update_track(job.id, 2, status="done", bytes_done=500, size=500, file_name="02 Two.mp3")
    stored = await store.get(job.id)
    assert stored.tracks[1] == JobTrack(
        2, "https://example.com/2.mp3", "Track 2", "done", 500, 500, "02 Two.mp3"
    )
    assert stored.tracks_done == 1

    failed = await store.update(job.id, status="failed", error="all tracks failed")
    assert failed.error == "all tracks failed" and not failed.active
    await store.delete(job.id)
    with pytest.raises(JobNotFound):
        await store.get(job.id)


async def test_unknown_ids_raise_job_not_found(store: JobStore) -> None:
    with pytest.raises(JobNotFound, match="no job with id 'nope'"):
        await store.get("nope")
    for write in (
        store.update("nope", status="failed"),
        store.set_tracks("nope", tracks(1)),
        store.update_track("nope", 1, bytes_done=1),
        store.delete("nope"),
    ):
        with pytest.raises(JobNotFound):
            await write


async def test_bad_fields_are_refused_before_reaching_the_writer(store: JobStore) -> None:
    job = await store.create(JobSpec("https://example.com/"))
    with pytest.raises(TypeError, match="unknown field 'url'"):
        await store.update(job.id, url="https://elsewhere.example/")
    with pytest.raises(ValueError, match="status"):
        await store.update(job.id, status="paused")
    with pytest.raises(ValueError, match="bytes_done"):
        await store.update_track(job.id, 1, bytes_done=-1)
    with pytest.raises(ValueError, match="unique"):
        await store.set_tracks(job.id, [*tracks(2), JobTrack(2, "https://example.com/x.mp3")])


async def test_list_is_newest_first_with_paging(store: JobStore) -> None:
    created = [await store.create(JobSpec(f"https://example.com/{i}")) for i in range(5)]
    newest_first = [job.id for job in reversed(created)]
    assert [job.id for job in await store.list_jobs()] == newest_first
    assert [job.id for job in await store.list_jobs(limit=2, offset=1)] == newest_first[1:3]
    assert await store.list_jobs(limit=10, offset=5) == []


async def test_set_tracks_replaces_the_list_and_delete_removes_tracks(store: JobStore, db_path: Path) -> None:
    job = await store.create(JobSpec("https://example.com/"))
    await store.set_tracks(job.id, tracks(5))
    replaced = await store.set_tracks(job.id, tracks(2))
    assert [t.index for t in replaced.tracks] == [1, 2]
    await store.delete(job.id)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 0


async def test_duplicate_control_finds_the_active_job_for_the_same_page(store: JobStore) -> None:
    job = await store.create(JobSpec("https://example.com/album", mode="browser", client_id="a"))
    assert await store.find_active("HTTPS://EXAMPLE.com/album#top", "browser", client_id="a") == job
    assert await store.find_active("https://example.com/album", "server", client_id="a") is None
    assert await store.find_active("https://example.com/album", "browser", client_id="b") is None
    assert await store.count_active() == 1
    assert await store.count_active("a") == 1
    assert await store.count_active("b") == 0

    await store.update(job.id, status="completed")
    assert await store.find_active("https://example.com/album", "browser", client_id="a") is None
    assert await store.count_active() == 0


async def test_create_or_find_active_gives_one_job_to_racing_requests(store: JobStore) -> None:
    spec = JobSpec("https://example.com/album", mode="server")
    results = await asyncio.gather(*(store.create_or_find_active(spec) for _ in range(20)))
    assert sum(created for _, created in results) == 1
    assert len({job.id for job, _ in results}) == 1
    assert len(await store.list_jobs()) == 1


async def test_two_owners_of_one_page_get_two_jobs_and_lists_are_by_owner(store: JobStore) -> None:
    mine, created = await store.create_or_find_active(JobSpec("https://example.com/a", client_id="me"))
    theirs, also = await store.create_or_find_active(JobSpec("https://example.com/a", client_id="you"))
    again, fresh = await store.create_or_find_active(JobSpec("https://example.com/a#x", client_id="me"))
    assert created and also and not fresh
    assert mine.id != theirs.id and again.id == mine.id
    for n in range(30):
        await store.create(JobSpec(f"https://example.com/other/{n}", client_id="you"))
    assert [job.id for job in await store.list_jobs(limit=5, client_id="me")] == [mine.id]
    assert len(await store.list_jobs(limit=50, client_id="you")) == 31
    paged = await store.list_jobs(limit=10, offset=30, client_id="you")
    assert [job.id for job in paged] == [theirs.id]


async def test_concurrent_creates_from_many_tasks_all_land(store: JobStore) -> None:
    jobs = await asyncio.gather(*(store.create(JobSpec(f"https://example.com/{i}")) for i in range(300)))
    listed = await store.list_jobs(limit=1000)
    assert len(listed) == 300
    assert {job.id for job in listed} == {job.id for job in jobs}


async def test_migrations_run_once_and_record_their_version(db_path: Path) -> None:
    for _ in range(3):
        store = await JobStore.open(db_path)
        await store.close()
    assert schema_versions(db_path) == list(range(1, len(MIGRATIONS) + 1))
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_later_migration_applies_to_an_existing_database(db_path: Path) -> None:
    store = await JobStore.open(db_path)
    job = await store.create(JobSpec("https://example.com/"))
    await store.close()

    later = len(MIGRATIONS) + 1
    second = Migration(later, "notes on jobs", ("ALTER TABLE jobs ADD COLUMN note TEXT",))
    store = await JobStore.open(db_path, migrations=(*MIGRATIONS, second))
    assert await store.get(job.id) == job
    await store.close()
    assert schema_versions(db_path) == list(range(1, later + 1))
    with sqlite3.connect(db_path) as conn:
        assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]

    with pytest.raises(JobError, match="newer than this AudioFetch"):
        await JobStore.open(db_path)


async def test_a_failing_migration_changes_nothing(db_path: Path) -> None:
    await (await JobStore.open(db_path)).close()
    later = len(MIGRATIONS) + 1
    broken = Migration(later, "broken", ("ALTER TABLE jobs ADD COLUMN half TEXT", "THIS IS NOT SQL"))
    with pytest.raises(JobError, match="job store failure") as caught:
        await JobStore.open(db_path, migrations=(*MIGRATIONS, broken))
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert schema_versions(db_path) == list(range(1, later))
    with sqlite3.connect(db_path) as conn:
        assert "half" not in [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]


async def test_a_reopened_store_keeps_everything_and_lists_interrupted_jobs(db_path: Path) -> None:
    store = await JobStore.open(db_path)
    running = await store.create(JobSpec("https://example.com/a", mode="server", workers=3, client_id="c"))
    await store.set_tracks(running.id, tracks(3))
    await store.update(running.id, status="downloading")
    await store.update_track(running.id, 1, status="done", bytes_done=10, size=10)
    await store.update_track(running.id, 2, status="downloading", bytes_done=4, size=10)
    done = await store.create(JobSpec("https://example.com/b"))
    await store.update(done.id, status="completed")
    assert await store.interrupted() == []
    before = await store.list_jobs()
    await store.close()

    reopened = await JobStore.open(db_path)
    try:
        assert await reopened.list_jobs() == before
        interrupted = await reopened.interrupted()
        assert [job.id for job in interrupted] == [running.id]
        assert interrupted[0].tracks[1].bytes_done == 4
        assert interrupted[0].spec == JobSpec(
            "https://example.com/a", mode="server", workers=3, client_id="c"
        )
        await reopened.update(running.id, status="failed", error="stream cut by a restart")
        assert await reopened.interrupted() == []
    finally:
        await reopened.close()


async def test_a_writer_failure_reaches_the_awaiting_caller(db_path: Path) -> None:
    store = await JobStore.open(db_path, busy_timeout=0.2)
    job = await store.create(JobSpec("https://example.com/"))
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        async with asyncio.timeout(30):
            with pytest.raises(JobError, match="locked") as caught:
                await store.update(job.id, status="analyzing")
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        other.execute("ROLLBACK")
        assert (await store.update(job.id, status="analyzing")).status == "analyzing"
    finally:
        other.close()
        await store.close()


async def test_one_failing_update_does_not_fail_its_batch(store: JobStore) -> None:
    job = await store.create(JobSpec("https://example.com/"))
    await store.set_tracks(job.id, tracks(2))
    results = await asyncio.gather(
        store.update_track(job.id, 1, bytes_done=1),
        store.update_track(job.id, 7, bytes_done=1),
        store.update_track("nope", 1, bytes_done=1),
        store.update_track(job.id, 2, bytes_done=2),
        return_exceptions=True,
    )
    assert results[0] is None and results[3] is None
    assert isinstance(results[1], JobError) and "no track 7" in str(results[1])
    assert isinstance(results[2], JobNotFound)
    assert (await store.get(job.id)).bytes_done == 3


async def test_a_closed_store_refuses_work_and_queued_writes_finish_first(db_path: Path) -> None:
    store = await JobStore.open(db_path)
    pending = [asyncio.ensure_future(store.create(JobSpec(f"https://example.com/{i}"))) for i in range(50)]
    await asyncio.sleep(0)
    await store.close()
    await store.close()
    created = await asyncio.gather(*pending)
    with pytest.raises(JobError, match="closed"):
        await store.create(JobSpec("https://example.com/late"))
    with pytest.raises(JobError, match="closed"):
        await store.get(created[0].id)
    reopened = await JobStore.open(db_path)
    assert len(await reopened.list_jobs(limit=100)) == 50
    await reopened.close()


async def test_merged_progress_keeps_the_last_value_per_track(store: JobStore) -> None:
    job = await store.create(JobSpec("https://example.com/"))
    await store.set_tracks(job.id, tracks(4))
    await asyncio.gather(
        *(store.update_track(job.id, 1 + i % 4, bytes_done=i, size=5000) for i in range(4000)),
        store.update_track(job.id, 4, status="done"),
    )
    stored = await store.get(job.id)
    assert [t.bytes_done for t in stored.tracks] == [3996, 3997, 3998, 3999]
    assert stored.tracks[3].status == "done" and stored.bytes_total == 20000


async def test_the_loop_stays_responsive_during_10000_track_updates(store: JobStore) -> None:
    job = await store.create(JobSpec("https://example.com/"))
    await store.set_tracks(job.id, tracks(10))
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def worker(index: int) -> None:
        for step in range(1000):
            await store.update_track(job.id, index, bytes_done=step)

    ticking = asyncio.create_task(ticker())
    await asyncio.gather(*(worker(index) for index in range(1, 11)))
    done.set()
    await ticking
    assert len(gaps) > 10, "the ticker hardly ran while updates were in flight"
    assert max(gaps) < 0.5
    assert (await store.get(job.id)).bytes_done == 10 * 999
