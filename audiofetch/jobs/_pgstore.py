"""PostgreSQL job store (asyncpg): the same ``JobStoreAPI`` as the SQLite store, shared by several nodes.

Each call is one short transaction on a pooled connection. What SQLite gets from its single writer,
PostgreSQL gets from locks: ``create_or_find_active`` takes one advisory transaction lock, so the
duplicate check and the limits are counted with the insert even when requests race on different nodes.
Jobs carry a lease (``_leases``): a node that creates or changes a job's status holds it while it renews
it; progress writes do not move it, so a node that lost a job cannot win it back by writing late.
Only this module, ``_pgschema``, ``_leases`` and ``_pgevents`` import ``asyncpg``.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from audiofetch.errors import JobError, JobLimitError, JobNotFound
from audiofetch.jobs._leases import claim_lapsed, lease_sql, release, renew
from audiofetch.jobs._model import Job, JobSpec, JobTrack, normalize_url
from audiofetch.jobs._pgschema import ACTIVE_SQL, migrate
from audiofetch.jobs._sqlite_schema import JOB_FIELDS, TRACK_FIELDS, check_fields

__all__ = ["PgJobStore", "connect_pool", "safe_url"]

CREATE_LOCK = 18_0002
"""Advisory lock key: job creation is serialised, so limits hold under simultaneous requests."""

_JOB_COLUMNS = (
    "id, url, name, mode, plugin, workers, prefer, client_id, selected, tags, render, status, error, title, "
    "player, created_at, updated_at"
)
_TRACK_COLUMNS = "idx, url, title, status, bytes_done, size, file_name, error"
_FIND_ACTIVE = (
    f"WHERE url_key = $1 AND mode = $2 AND client_id = $3 AND status IN {ACTIVE_SQL} "
    "ORDER BY created_at, seq LIMIT 1"
)


def safe_url(url: str) -> str:
    """The database address without its password, for messages and logs."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"


async def connect_pool(url: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool, or ``JobError`` with one line saying which database could not be reached."""
    try:
        return await asyncpg.create_pool(url, min_size=1, max_size=max_size, command_timeout=60)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise JobError(f"cannot reach the job database {safe_url(url)}: {exc}") from exc


def _job_from_row(row: Any, tracks: Iterable[Any]) -> Job:
    selected = None if row["selected"] is None else tuple(json.loads(row["selected"]))
    spec = JobSpec(
        row["url"], row["mode"], row["name"], row["plugin"], row["workers"], tuple(json.loads(row["prefer"])),
        row["client_id"], selected, bool(row["tags"]), row["render"],
    )  # fmt: skip
    track_list = tuple(JobTrack(*track) for track in tracks)
    return Job(
        row["id"], spec, row["created_at"], row["updated_at"], row["status"], row["error"], row["title"],
        row["player"], track_list,
    )  # fmt: skip


async def _load_jobs(conn: asyncpg.Connection, where: str, *params: object) -> builtins.list[Job]:
    rows = await conn.fetch(f"SELECT {_JOB_COLUMNS} FROM jobs {where}", *params)
    ids = [row["id"] for row in rows]
    tracks: dict[str, builtins.list[Any]] = {job_id: [] for job_id in ids}
    if ids:
        query = f"SELECT job_id, {_TRACK_COLUMNS} FROM tracks WHERE job_id = ANY($1) ORDER BY job_id, idx"
        for track in await conn.fetch(query, ids):
            tracks[track["job_id"]].append(tuple(track)[1:])
    return [_job_from_row(row, tracks[row["id"]]) for row in rows]


async def _load_job(conn: asyncpg.Connection, job_id: str) -> Job:
    jobs = await _load_jobs(conn, "WHERE id = $1", job_id)
    if not jobs:
        raise JobNotFound(f"no job with id {job_id!r}")
    return jobs[0]


class PgJobStore:
    """Jobs and tracks in PostgreSQL; open with ``await PgJobStore.open(url, node=...)``, end with
    ``close()``. Errors as the SQLite store's."""

    def __init__(self, pool: asyncpg.Pool, url: str, node: str, lease_seconds: float) -> None:
        self.pool = pool
        self.url = url
        self.node = node
        self.lease_seconds = lease_seconds
        self._closed = False

    @classmethod
    async def open(
        cls, url: str, *, node: str, lease_seconds: float = 30.0, max_size: int = 10
    ) -> PgJobStore:
        """Connect, bring the schema up to date, and return the store for node ``node``."""
        pool = await connect_pool(url, max_size=max_size)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, asyncpg.PostgresError):
                raise JobError(f"cannot prepare the job database {safe_url(url)}: {exc}") from exc
            raise
        return cls(pool, url, node, lease_seconds)

    @property
    def shared(self) -> bool:
        """Always: any number of nodes may use this database."""
        return True

    async def close(self) -> None:
        """Close the pool (waiting for calls in progress). Idempotent."""
        if not self._closed:
            self._closed = True
            await self.pool.close()

    # -- reads ----------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        """The job with this id; raises ``JobNotFound``."""
        async with self._conn() as conn:
            return await _load_job(conn, job_id)

    async def list_jobs(
        self, limit: int = 50, offset: int = 0, *, client_id: str | None = None
    ) -> builtins.list[Job]:
        """Jobs newest first, ``limit`` of them after skipping ``offset``; only ``client_id``'s if given."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        order = "ORDER BY created_at DESC, seq DESC LIMIT $1 OFFSET $2"
        async with self._conn() as conn:
            if client_id is None:
                return await _load_jobs(conn, order, limit, offset)
            mine = "WHERE client_id = $3 " + order
            return await _load_jobs(conn, mine, limit, offset, client_id)

    async def find_active(self, url: str, mode: str, *, client_id: str) -> Job | None:
        """``client_id``'s oldest active job for the same page (by ``normalize_url``) and mode, if any."""
        async with self._conn() as conn:
            jobs = await _load_jobs(conn, _FIND_ACTIVE, normalize_url(url), mode, client_id)
        return jobs[0] if jobs else None

    async def count_active(self, client_id: str | None = None) -> int:
        """Active jobs in all, or those of one client."""
        query = f"SELECT count(*) FROM jobs WHERE status IN {ACTIVE_SQL}"
        async with self._conn() as conn:
            if client_id is None:
                count: int = await conn.fetchval(query)
            else:
                count = await conn.fetchval(query + " AND client_id = $1", client_id)
        return count

    async def active(self) -> builtins.list[Job]:
        """Every active job, oldest first."""
        async with self._conn() as conn:
            return await _load_jobs(conn, f"WHERE status IN {ACTIVE_SQL} ORDER BY created_at, seq")

    async def interrupted(self) -> builtins.list[Job]:
        """Active jobs whose node's lease lapsed (or that never had one), claimed for this node now."""
        async with self._conn() as conn, conn.transaction():
            ids = await claim_lapsed(conn, self.node, self.lease_seconds)
            if not ids:
                return []
            return await _load_jobs(conn, "WHERE id = ANY($1) ORDER BY created_at, seq", ids)

    async def renew_leases(self, job_ids: Collection[str]) -> frozenset[str]:
        """Extend this node's leases on ``job_ids``; the ones still held and active."""
        if not job_ids:
            return frozenset()
        async with self._conn() as conn:
            return await renew(conn, self.node, self.lease_seconds, list(job_ids))

    async def release_lease(self, job_id: str) -> None:
        """Let go of an active job this node holds but has no room to run: the next node to look takes it."""
        async with self._conn() as conn:
            await release(conn, self.node, job_id)

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, spec: JobSpec) -> Job:
        """Store a new queued job for ``spec`` (held by this node) and return it."""
        job = Job.new(spec, time.time())
        async with self._conn() as conn:
            await self._insert(conn, job)
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
        """As the SQLite store's: duplicates and limits counted in the insert's transaction, under one
        advisory lock every node takes, so simultaneous requests on different nodes cannot all pass.
        ``address`` is kept with the job while it is active, for ``max_per_address`` on every node."""
        job = Job.new(spec, time.time())
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", CREATE_LOCK)
            if shared:
                found = await _load_jobs(
                    conn, _FIND_ACTIVE, normalize_url(spec.url), spec.mode, spec.client_id
                )
                if found:
                    return found[0], False
            active = f"SELECT count(*) FROM jobs WHERE status IN {ACTIVE_SQL}"
            if max_active is not None and await conn.fetchval(active) >= max_active:
                raise JobLimitError("AudioFetch is busy with other jobs; try again shortly", retry_after=30)
            if max_per_client is not None and spec.client_id:
                mine = await conn.fetchval(active + " AND client_id = $1", spec.client_id)
                if mine >= max_per_client:
                    raise JobLimitError(
                        f"you already have {max_per_client} jobs running; wait for one to finish",
                        retry_after=10,
                    )
            if max_per_address is not None and address:
                from_there = await conn.fetchval(active + " AND address = $1", address)
                if from_there >= max_per_address:
                    raise JobLimitError(
                        f"{from_there} jobs from your address are running; wait for one to finish",
                        retry_after=10,
                    )
            await self._insert(conn, job, url_key=None if shared else f"private:{job.id}")
            if address:
                await conn.execute("UPDATE jobs SET address = $1 WHERE id = $2", address, job.id)
        return job, True

    async def update(self, job_id: str, **fields: object) -> Job:
        """Change status, error, title, player or name; this node takes (or keeps) the job's lease."""
        check_fields(fields, JOB_FIELDS)
        async with self._conn() as conn, conn.transaction():
            changes: dict[str, Any] = dict(fields)
            job = await _load_jobs(conn, "WHERE id = $1 FOR UPDATE", job_id)
            if not job:
                raise JobNotFound(f"no job with id {job_id!r}")
            updated = job[0]
            if "name" in changes:
                updated = replace(updated, spec=replace(updated.spec, name=changes.pop("name")))
            updated = replace(updated, **changes, updated_at=time.time())
            await conn.execute(
                "UPDATE jobs SET status = $1, error = $2, title = $3, player = $4, name = $5, "
                f"updated_at = $6, address = CASE WHEN $1 IN {ACTIVE_SQL} THEN address END, "
                f"{lease_sql(7)} WHERE id = $9",
                updated.status, updated.error, updated.title, updated.player, updated.spec.name,
                updated.updated_at, self.node, self.lease_seconds, job_id,
            )  # fmt: skip
            return updated

    async def set_tracks(self, job_id: str, tracks: Iterable[JobTrack]) -> Job:
        """Replace the job's track list (after analysis); returns the job as committed."""
        rows = [
            (job_id, t.index, t.url, t.title, t.status, t.bytes_done, t.size, t.file_name, t.error)
            for t in tracks
        ]
        if len({row[1] for row in rows}) != len(rows):
            raise ValueError("track indexes must be unique")
        insert = f"INSERT INTO tracks (job_id, {_TRACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        async with self._conn() as conn, conn.transaction():
            await _load_job(conn, job_id)
            await conn.execute("DELETE FROM tracks WHERE job_id = $1", job_id)
            await conn.executemany(insert, rows)
            await conn.execute(
                f"UPDATE jobs SET updated_at = $1, {lease_sql(2)} WHERE id = $4",
                time.time(), self.node, self.lease_seconds, job_id,
            )  # fmt: skip
            return await _load_job(conn, job_id)

    async def update_track(self, job_id: str, index: int, **fields: object) -> None:
        """Change one track's fields (progress); the lease stays with whoever holds it."""
        check_fields(fields, TRACK_FIELDS)
        assignments = ", ".join(f"{name} = ${pos}" for pos, name in enumerate(fields, start=4))
        async with self._conn() as conn:  # one statement, one round trip: progress is the busiest write
            touched = await conn.fetchval(
                f"WITH changed AS (UPDATE tracks SET {assignments} WHERE job_id = $1 AND idx = $2 "
                "RETURNING job_id) UPDATE jobs SET updated_at = $3 WHERE id IN (SELECT job_id FROM changed) "
                "RETURNING 1",
                job_id, index, time.time(), *fields.values(),
            )  # fmt: skip
            if touched is None:
                if await conn.fetchval("SELECT 1 FROM jobs WHERE id = $1", job_id) is None:
                    raise JobNotFound(f"no job with id {job_id!r}")
                raise JobError(f"job {job_id!r} has no track {index}")

    async def delete(self, job_id: str) -> None:
        """Remove the job and its tracks, whatever its status; raises ``JobNotFound``."""
        async with self._conn() as conn:
            if (await conn.execute("DELETE FROM jobs WHERE id = $1", job_id)).endswith(" 0"):
                raise JobNotFound(f"no job with id {job_id!r}")

    async def insert_job(self, job: Job, *, url_key: str | None = None, leased: bool = True) -> None:
        """Store ``job`` as it is, tracks included (``move-jobs``); no lease when ``leased`` is false, so
        a node takes over its active jobs as interrupted ones."""
        async with self._conn() as conn, conn.transaction():
            await self._insert(conn, job, url_key=url_key, leased=leased)
            await conn.executemany(
                f"INSERT INTO tracks (job_id, {_TRACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [
                    (job.id, t.index, t.url, t.title, t.status, t.bytes_done, t.size, t.file_name, t.error)
                    for t in job.tracks
                ],
            )

    # -- machinery ------------------------------------------------------------------------------------

    async def _insert(
        self, conn: asyncpg.Connection, job: Job, *, url_key: str | None = None, leased: bool = True
    ) -> None:
        spec = job.spec
        selected = None if spec.selected is None else json.dumps(list(spec.selected))
        key = normalize_url(spec.url) if url_key is None else url_key
        values: Sequence[object] = (
            job.id, spec.url, key, spec.name, spec.mode, spec.plugin, spec.workers,
            json.dumps(list(spec.prefer)), spec.client_id, selected, spec.tags, spec.render, job.status,
            job.error, job.title, job.player,
            job.created_at, job.updated_at, self.node if leased else None, self.lease_seconds,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO jobs (id, url, url_key, name, mode, plugin, workers, prefer, client_id, selected, "
            "tags, render, status, error, title, player, created_at, updated_at, lease_node, lease_until) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
            "CASE WHEN $19::text IS NULL THEN NULL ELSE now() + make_interval(secs => $20) END)",
            *values,
        )

    def _conn(self) -> _Acquire:
        if self._closed:
            raise JobError("the job store is closed", expected=False)
        return _Acquire(self.pool)


class _Acquire:
    """A pooled connection whose database failures become ``JobError`` (the original chained)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            self._conn = await self._pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise JobError(f"job store failure: {exc}", expected=False) from exc
        return self._conn

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        await self._pool.release(self._conn)
        if isinstance(exc, (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
            raise JobError(f"job store failure: {exc}", expected=False) from exc
