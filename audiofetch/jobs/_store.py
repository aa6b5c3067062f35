"""The job store: jobs and their tracks in one SQLite file, read and written without blocking the loop.

Schema and migrations are in ``_sqlite_schema``, the writer thread and the readers in ``_sqlite_writer``;
these three modules are the only ones importing ``sqlite3``. A write returns once it is committed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import audiofetch.jobs._sqlite_schema as sql
from audiofetch.errors import JobError, JobLimitError, JobNotFound
from audiofetch.jobs._model import Job, JobSpec, JobTrack, normalize_url
from audiofetch.jobs._sqlite_schema import MIGRATIONS, Migration
from audiofetch.jobs._sqlite_writer import Database, TrackUpdate

__all__ = ["JobStore", "MIGRATIONS", "Migration"]


class JobStore:
    """Jobs and tracks in one SQLite file; open with ``await JobStore.open(path)``, end with ``close()``.

    Methods raise ``JobNotFound`` for an unknown id, ``JobError`` when SQLite fails (the original chained)
    or the store is closed, and ``TypeError``/``ValueError`` for fields no caller should send.
    """

    def __init__(self, path: Path, *, busy_timeout: float, queue_size: int, max_batch: int) -> None:
        self.path = path
        self._loop = asyncio.get_running_loop()
        self._run_id = secrets.token_hex(8)
        self._db = Database(
            path, self._run_id, busy_timeout=busy_timeout, queue_size=queue_size, max_batch=max_batch
        )

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout: float = 5.0,
        queue_size: int = 1024,
        max_batch: int = 512,
    ) -> JobStore:
        """Open (creating if needed) the store at ``path`` and bring its schema up to date.

        ``busy_timeout`` is how long a write waits for a lock another process holds before failing;
        ``queue_size`` how many writes may wait before callers wait too; ``max_batch`` the most writes
        committed in one transaction.
        """
        store = cls(Path(path), busy_timeout=busy_timeout, queue_size=queue_size, max_batch=max_batch)
        try:
            await store._db.write(lambda conn: sql.migrate(conn, migrations))
        except BaseException as exc:
            await store.close()
            cause = exc.__cause__ if isinstance(exc, JobError) else None
            clear = sql.open_error(store.path, cause) if isinstance(cause, sqlite3.Error) else None
            if clear is not None:
                raise clear from exc
            raise
        return store

    async def close(self) -> None:
        """Finish every write already queued, stop the writer and close all connections. Idempotent."""
        await self._db.close()

    # -- issue 18: the shared-store part of JobStoreAPI (one process holds every job here) ----------

    @property
    def shared(self) -> bool:
        """Never: this file belongs to one process."""
        return False

    async def renew_leases(self, job_ids: Collection[str]) -> frozenset[str]:
        """Nothing to renew: this process holds every job; returns ``job_ids``."""
        return frozenset(job_ids)

    async def release_lease(self, job_id: str) -> None:
        """Nothing to release: no other process could take the job."""

    # -- reads ----------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        """The job with this id; raises ``JobNotFound``."""
        return await self._db.read(lambda conn: sql.load_job(conn, job_id))

    async def list_jobs(self, limit: int = 50, offset: int = 0, *, client_id: str | None = None) -> list[Job]:
        """Jobs newest first, ``limit`` of them after skipping ``offset``; only ``client_id``'s if given."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        order = "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        if client_id is None:
            return await self._db.read(lambda conn: sql.load_jobs(conn, order, (limit, offset)))
        mine = f"WHERE client_id = ? {order}"
        return await self._db.read(lambda conn: sql.load_jobs(conn, mine, (client_id, limit, offset)))

    async def find_active(self, url: str, mode: str, *, client_id: str) -> Job | None:
        """``client_id``'s oldest active job for the same page (by ``normalize_url``) and mode, if any."""
        params = (normalize_url(url), mode, client_id)
        jobs = await self._db.read(lambda conn: sql.load_jobs(conn, sql.FIND_ACTIVE, params))
        return jobs[0] if jobs else None

    async def count_active(self, client_id: str | None = None) -> int:
        """Active jobs in all, or those of one client."""
        query = f"SELECT count(*) FROM jobs WHERE status IN {sql.ACTIVE}"
        params: tuple[str, ...] = ()
        if client_id is not None:
            query, params = query + " AND client_id = ?", (client_id,)
        count: int = await self._db.read(lambda conn: conn.execute(query, params).fetchone()[0])
        return count

    async def active(self) -> list[Job]:
        """Every active job, oldest first."""
        where = f"WHERE status IN {sql.ACTIVE} ORDER BY created_at, rowid"
        return await self._db.read(lambda conn: sql.load_jobs(conn, where, ()))

    async def interrupted(self) -> list[Job]:
        """Active jobs last written by an earlier process (a crash or kill left them), oldest first.

        Any write to a job through this store takes it off the list.
        """
        where = f"WHERE status IN {sql.ACTIVE} AND run_id != ? ORDER BY created_at, rowid"
        return await self._db.read(lambda conn: sql.load_jobs(conn, where, (self._run_id,)))

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, spec: JobSpec) -> Job:
        """Store a new queued job for ``spec`` and return it."""
        job = Job.new(spec, time.time())
        await self._db.write(lambda conn: sql.insert_job(conn, job, self._run_id))
        return job

    async def create_or_find_active(
        self,
        spec: JobSpec,
        *,
        max_active: int | None = None,
        max_per_client: int | None = None,
        shared: bool = True,
        address: str | None = None,
        max_per_address: int | None = None,
    ) -> tuple[Job, bool]:
        """``(new job, True)``, or ``(active job, False)`` when the same client has one for the page and mode.

        ``shared=False`` makes a job that is always new and that later requests never find as theirs
        (a page sent from a user's browser: its tracks may need that user's cookies).

        Atomic (it runs in the writer), so two identical requests racing each other get one job, and the
        limits are counted in the same transaction as the insert: simultaneous requests cannot all pass
        the count. Raises ``JobLimitError`` when ``max_active`` jobs (overall) or ``max_per_client`` jobs
        (of ``spec.client_id``) are active. ``address`` and ``max_per_address`` are for shared stores:
        with one process the runner counts addresses in memory (an address never reaches this file).
        """
        job = Job.new(spec, time.time())

        def apply(conn: sqlite3.Connection) -> tuple[Job, bool]:
            key = (normalize_url(spec.url), spec.mode, spec.client_id)
            found = sql.load_jobs(conn, sql.FIND_ACTIVE, key) if shared else []
            if found:
                return found[0], False
            active = f"SELECT count(*) FROM jobs WHERE status IN {sql.ACTIVE}"
            if max_active is not None and conn.execute(active).fetchone()[0] >= max_active:
                raise JobLimitError("AudioFetch is busy with other jobs; try again shortly", retry_after=30)
            if max_per_client is not None and spec.client_id:
                mine = conn.execute(active + " AND client_id = ?", (spec.client_id,)).fetchone()[0]
                if mine >= max_per_client:
                    raise JobLimitError(
                        f"you already have {max_per_client} jobs running; wait for one to finish",
                        retry_after=10,
                    )
            sql.insert_job(conn, job, self._run_id, url_key=None if shared else f"private:{job.id}")
            return job, True

        return await self._db.write(apply)

    async def update(self, job_id: str, **fields: object) -> Job:
        """Change status, error, title, player or name (the folder/ZIP name chosen at analysis)."""
        sql.check_fields(fields, sql.JOB_FIELDS)

        def apply(conn: sqlite3.Connection) -> Job:
            changes: dict[str, Any] = dict(fields)
            job = sql.load_job(conn, job_id)
            if "name" in changes:
                job = replace(job, spec=replace(job.spec, name=changes.pop("name")))
            job = replace(job, **changes, updated_at=time.time())
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, title = ?, player = ?, name = ?, updated_at = ?, "
                "run_id = ? WHERE id = ?",
                (job.status, job.error, job.title, job.player, job.spec.name, job.updated_at, self._run_id,
                 job_id),
            )  # fmt: skip
            return job

        return await self._db.write(apply)

    async def set_tracks(self, job_id: str, tracks: Iterable[JobTrack]) -> Job:
        """Replace the job's track list (after analysis); returns the job as committed."""
        rows = [
            (job_id, t.index, t.url, t.title, t.status, t.bytes_done, t.size, t.file_name, t.error)
            for t in tracks
        ]
        if len({row[1] for row in rows}) != len(rows):
            raise ValueError("track indexes must be unique")
        insert = f"INSERT INTO tracks (job_id, {sql.TRACK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

        def apply(conn: sqlite3.Connection) -> Job:
            sql.load_job(conn, job_id)
            conn.execute("DELETE FROM tracks WHERE job_id = ?", (job_id,))
            conn.executemany(insert, rows)
            sql.touch(conn, [job_id], self._run_id)
            return sql.load_job(conn, job_id)

        return await self._db.write(apply)

    async def update_track(self, job_id: str, index: int, **fields: object) -> None:
        """Change one track's status, bytes_done, size, file_name, error, title or url.

        Cheap enough for every progress step: queued updates of a track are merged before writing.
        """
        sql.check_fields(fields, sql.TRACK_FIELDS)
        future = self._loop.create_future()
        await self._db.put(TrackUpdate(job_id, index, fields, future))
        await future

    async def delete(self, job_id: str) -> None:
        """Remove the job and its tracks, whatever its status; raises ``JobNotFound``."""

        def apply(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobNotFound(f"no job with id {job_id!r}")

        await self._db.write(apply)
