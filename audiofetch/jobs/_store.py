"""SQLite job store: numbered migrations, WAL, one writer thread, reads in threads.

Every write is a command on a bounded queue run by one dedicated thread (datasette's pattern), so the
event loop never waits on SQLite and writes never contend. The writer takes everything waiting (up to
``max_batch``) and runs it in one transaction, each command in its own savepoint so one failing command
fails only its caller. Consecutive ``update_track`` calls are merged per track first, so frequent
progress costs one row write per track per batch. Awaiting a write returns once it is committed;
cancelling the await does not withdraw it. Reads run in ``asyncio.to_thread`` on a pool of query-only
connections, each read in its own snapshot. Only this module imports ``sqlite3``.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from audiofetch.errors import JobError, JobLimitError, JobNotFound
from audiofetch.jobs._model import (
    ACTIVE_STATUSES,
    JOB_STATUSES,
    TRACK_STATUSES,
    Job,
    JobSpec,
    JobTrack,
    normalize_url,
)

__all__ = ["JobStore", "MIGRATIONS", "Migration"]

_T = TypeVar("_T")


def _sql_set(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in sorted(values)) + ")"


_ACTIVE = _sql_set(ACTIVE_STATUSES)
_JOB_COLUMNS = (
    "id, url, name, mode, plugin, workers, prefer, client_id, selected, tags, render, status, error, title, "
    "player, created_at, updated_at"
)
_TRACK_COLUMNS = "idx, url, title, status, bytes_done, size, file_name, error"
_INSERT_JOB = (
    "INSERT INTO jobs (id, url, url_key, name, mode, plugin, workers, prefer, client_id, selected, tags, "
    "render, status, error, title, player, created_at, updated_at, run_id) VALUES ("
    + ", ".join("?" * 19)
    + ")"
)
# Duplicate control stays within one owner: another client's job for the same page is never handed out.
_FIND_ACTIVE = (
    f"WHERE url_key = ? AND mode = ? AND client_id = ? AND status IN {_ACTIVE} "
    "ORDER BY created_at, rowid LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step. Versions run 1, 2, 3... in order, each once, in one transaction with its record."""

    version: int
    summary: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs and their tracks",
        (
            f"""CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                url_key TEXT NOT NULL,
                name TEXT,
                mode TEXT NOT NULL CHECK (mode IN ('browser', 'server')),
                plugin TEXT,
                workers INTEGER,
                prefer TEXT NOT NULL DEFAULT '[]',
                client_id TEXT NOT NULL DEFAULT '',
                selected TEXT,
                status TEXT NOT NULL CHECK (status IN {_sql_set(JOB_STATUSES)}),
                error TEXT,
                title TEXT,
                player TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                run_id TEXT NOT NULL
            )""",
            "CREATE INDEX jobs_by_age ON jobs (created_at)",
            f"CREATE INDEX jobs_active_by_url ON jobs (url_key, mode) WHERE status IN {_ACTIVE}",
            f"CREATE INDEX jobs_active_by_client ON jobs (client_id) WHERE status IN {_ACTIVE}",
            f"""CREATE TABLE tracks (
                job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                url TEXT NOT NULL,
                title TEXT,
                status TEXT NOT NULL CHECK (status IN {_sql_set(TRACK_STATUSES)}),
                bytes_done INTEGER NOT NULL DEFAULT 0,
                size INTEGER,
                file_name TEXT,
                error TEXT,
                PRIMARY KEY (job_id, idx)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        2,
        "jobs.tags: write tags into the files (1) or leave them as sent (0)",
        ("ALTER TABLE jobs ADD COLUMN tags INTEGER NOT NULL DEFAULT 1 CHECK (tags IN (0, 1))",),
    ),
    Migration(
        3,
        "jobs.render: run the page's scripts (auto, always, never; NULL means the server's setting)",
        ("ALTER TABLE jobs ADD COLUMN render TEXT CHECK (render IN ('auto', 'always', 'never'))",),
    ),
    Migration(
        4,
        "jobs_by_client: a visitor's job list is read by owner, newest first",
        ("CREATE INDEX jobs_by_client ON jobs (client_id, created_at)",),
    ),
)


def _optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_JOB_FIELDS: dict[str, Callable[[object], bool]] = {
    "name": _optional_text,
    "status": lambda value: value in JOB_STATUSES,
    "error": _optional_text,
    "title": _optional_text,
    "player": _optional_text,
}
_TRACK_FIELDS: dict[str, Callable[[object], bool]] = {
    "url": lambda value: isinstance(value, str),
    "title": _optional_text,
    "status": lambda value: value in TRACK_STATUSES,
    "bytes_done": _count,
    "size": lambda value: value is None or _count(value),
    "file_name": _optional_text,
    "error": _optional_text,
}


def _check_fields(fields: dict[str, object], allowed: dict[str, Callable[[object], bool]]) -> None:
    """Refuse unknown names (TypeError) and bad values (ValueError) before anything is queued."""
    if not fields:
        raise TypeError("no field to update")
    for name, value in fields.items():
        if name not in allowed:
            raise TypeError(f"unknown field {name!r}; allowed: {', '.join(sorted(allowed))}")
        if not allowed[name](value):
            raise ValueError(f"bad value for {name}: {value!r}")


def _store_error(exc: BaseException) -> BaseException:
    """Our own errors and bugs pass as they are; SQLite's become a JobError chained to the original."""
    if isinstance(exc, sqlite3.Error):
        error = JobError(f"job store failure: {exc}", expected=False)
        error.__cause__ = exc
        return error
    return exc


def _open_error(path: Path, cause: sqlite3.Error) -> JobError | None:
    """One clear line for a store the disk or the file keeps from opening (None: not such a problem,
    a bug of ours such as a broken migration); the file is left exactly as it was."""
    name = getattr(cause, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return JobError(
            f"the job database {path} is damaged or is not an AudioFetch database ({cause}); it was left "
            "untouched: restore it from a backup, or move it away to start with an empty one"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")):
        return JobError(f"cannot write the job database {path} ({cause}); check that its folder is writable")
    if name.startswith("SQLITE_BUSY"):
        return JobError(f"the job database {path} is locked by another program ({cause})")
    return None


def _connect(path: Path, busy_timeout: float, *, writer: bool) -> sqlite3.Connection:
    if writer:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    else:
        conn.execute("PRAGMA query_only = ON")
    return conn


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3... in order")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, summary TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    if current > len(migrations):
        raise JobError(
            f"the job database has schema version {current}, newer than this AudioFetch knows "
            f"({len(migrations)}); upgrade AudioFetch or use another data folder"
        )
    for migration in migrations[current:]:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version (version, summary, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.summary, time.time()),
        )


def _job_from_row(row: Any, tracks: Iterable[Any]) -> Job:
    """Rows hold ``_JOB_COLUMNS`` in order: the spec's fields, then the job's."""
    job_id, url, name, mode, plugin, workers, prefer, client_id, selected, tags, render = row[:11]
    chosen = None if selected is None else tuple(json.loads(selected))
    spec = JobSpec(
        url, mode, name, plugin, workers, tuple(json.loads(prefer)), client_id, chosen, bool(tags), render
    )
    status, error, title, player, created_at, updated_at = row[11:]
    track_list = tuple(JobTrack(*track) for track in tracks)
    return Job(job_id, spec, created_at, updated_at, status, error, title, player, track_list)


def _load_jobs(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> builtins.list[Job]:
    rows = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs {where}", params).fetchall()
    ids = [row[0] for row in rows]
    tracks: dict[str, builtins.list[Any]] = {job_id: [] for job_id in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        query = f"SELECT job_id, {_TRACK_COLUMNS} FROM tracks WHERE job_id IN ({marks}) ORDER BY job_id, idx"
        for track in conn.execute(query, chunk):
            tracks[track[0]].append(track[1:])
    return [_job_from_row(row, tracks[row[0]]) for row in rows]


def _load_job(conn: sqlite3.Connection, job_id: str) -> Job:
    jobs = _load_jobs(conn, "WHERE id = ?", (job_id,))
    if not jobs:
        raise JobNotFound(f"no job with id {job_id!r}")
    return jobs[0]


@dataclass(slots=True)
class _Command:
    apply: Callable[[sqlite3.Connection], object]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _TrackUpdate:
    job_id: str
    index: int
    fields: dict[str, object]
    future: asyncio.Future[Any]


_Item = _Command | _TrackUpdate
_Outcome = tuple[asyncio.Future[Any], object, BaseException | None]


class JobStore:
    """Jobs and tracks in one SQLite file; open with ``await JobStore.open(path)``, end with ``close()``.

    Methods raise ``JobNotFound`` for an unknown id, ``JobError`` when SQLite fails (the original chained)
    or the store is closed, and ``TypeError``/``ValueError`` for fields no caller should send.
    """

    def __init__(self, path: Path, *, busy_timeout: float, queue_size: int, max_batch: int) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._max_batch = max_batch
        self._loop = asyncio.get_running_loop()
        self._run_id = secrets.token_hex(8)
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size + 1)
        self._slots = asyncio.Semaphore(queue_size)
        self._lock = threading.Lock()
        self._closing = False
        self._failure: BaseException | None = None
        self._readers: builtins.list[sqlite3.Connection] = []
        # A daemon, so a forgotten close() cannot hang the interpreter at exit; close() drains the queue.
        self._thread = threading.Thread(
            target=self._writer_main, name=f"jobstore-writer:{path.name}", daemon=True
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
        store._thread.start()
        try:
            await store._write(lambda conn: _migrate(conn, migrations))
        except BaseException as exc:
            await store.close()
            cause = exc.__cause__ if isinstance(exc, JobError) else None
            clear = _open_error(store.path, cause) if isinstance(cause, sqlite3.Error) else None
            if clear is not None:
                raise clear from exc
            raise
        return store

    async def close(self) -> None:
        """Finish every write already queued, stop the writer and close all connections. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._queue.put_nowait(None)
        await asyncio.to_thread(self._thread.join)
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

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
        return await self._read(lambda conn: _load_job(conn, job_id))

    async def list_jobs(
        self, limit: int = 50, offset: int = 0, *, client_id: str | None = None
    ) -> builtins.list[Job]:
        """Jobs newest first, ``limit`` of them after skipping ``offset``; only ``client_id``'s if given."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        order = "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        if client_id is None:
            return await self._read(lambda conn: _load_jobs(conn, order, (limit, offset)))
        mine = f"WHERE client_id = ? {order}"
        return await self._read(lambda conn: _load_jobs(conn, mine, (client_id, limit, offset)))

    async def find_active(self, url: str, mode: str, *, client_id: str) -> Job | None:
        """``client_id``'s oldest active job for the same page (by ``normalize_url``) and mode, if any."""
        params = (normalize_url(url), mode, client_id)
        jobs = await self._read(lambda conn: _load_jobs(conn, _FIND_ACTIVE, params))
        return jobs[0] if jobs else None

    async def count_active(self, client_id: str | None = None) -> int:
        """Active jobs in all, or those of one client."""
        query = f"SELECT count(*) FROM jobs WHERE status IN {_ACTIVE}"
        params: tuple[str, ...] = ()
        if client_id is not None:
            query, params = query + " AND client_id = ?", (client_id,)
        count: int = await self._read(lambda conn: conn.execute(query, params).fetchone()[0])
        return count

    async def active(self) -> builtins.list[Job]:
        """Every active job, oldest first."""
        where = f"WHERE status IN {_ACTIVE} ORDER BY created_at, rowid"
        return await self._read(lambda conn: _load_jobs(conn, where, ()))

    async def interrupted(self) -> builtins.list[Job]:
        """Active jobs last written by an earlier process (a crash or kill left them), oldest first.

        Any write to a job through this store takes it off the list.
        """
        where = f"WHERE status IN {_ACTIVE} AND run_id != ? ORDER BY created_at, rowid"
        return await self._read(lambda conn: _load_jobs(conn, where, (self._run_id,)))

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, spec: JobSpec) -> Job:
        """Store a new queued job for ``spec`` and return it."""
        job = Job.new(spec, time.time())
        await self._write(lambda conn: self._insert(conn, job))
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
            found = _load_jobs(conn, _FIND_ACTIVE, key) if shared else []
            if found:
                return found[0], False
            active = f"SELECT count(*) FROM jobs WHERE status IN {_ACTIVE}"
            if max_active is not None and conn.execute(active).fetchone()[0] >= max_active:
                raise JobLimitError("AudioFetch is busy with other jobs; try again shortly", retry_after=30)
            if max_per_client is not None and spec.client_id:
                mine = conn.execute(active + " AND client_id = ?", (spec.client_id,)).fetchone()[0]
                if mine >= max_per_client:
                    raise JobLimitError(
                        f"you already have {max_per_client} jobs running; wait for one to finish",
                        retry_after=10,
                    )
            self._insert(conn, job, url_key=None if shared else f"private:{job.id}")
            return job, True

        return await self._write(apply)

    async def update(self, job_id: str, **fields: object) -> Job:
        """Change status, error, title, player or name (the folder/ZIP name chosen at analysis)."""
        _check_fields(fields, _JOB_FIELDS)

        def apply(conn: sqlite3.Connection) -> Job:
            changes: dict[str, Any] = dict(fields)
            job = _load_job(conn, job_id)
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

        return await self._write(apply)

    async def set_tracks(self, job_id: str, tracks: Iterable[JobTrack]) -> Job:
        """Replace the job's track list (after analysis); returns the job as committed."""
        rows = [
            (job_id, t.index, t.url, t.title, t.status, t.bytes_done, t.size, t.file_name, t.error)
            for t in tracks
        ]
        if len({row[1] for row in rows}) != len(rows):
            raise ValueError("track indexes must be unique")
        insert = f"INSERT INTO tracks (job_id, {_TRACK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

        def apply(conn: sqlite3.Connection) -> Job:
            _load_job(conn, job_id)
            conn.execute("DELETE FROM tracks WHERE job_id = ?", (job_id,))
            conn.executemany(insert, rows)
            self._touch(conn, [job_id])
            return _load_job(conn, job_id)

        return await self._write(apply)

    async def update_track(self, job_id: str, index: int, **fields: object) -> None:
        """Change one track's status, bytes_done, size, file_name, error, title or url.

        Cheap enough for every progress step: queued updates of a track are merged before writing.
        """
        _check_fields(fields, _TRACK_FIELDS)
        future = self._loop.create_future()
        await self._put(_TrackUpdate(job_id, index, fields, future))
        await future

    async def delete(self, job_id: str) -> None:
        """Remove the job and its tracks, whatever its status; raises ``JobNotFound``."""

        def apply(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobNotFound(f"no job with id {job_id!r}")

        await self._write(apply)

    # -- machinery ------------------------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, job: Job, *, url_key: str | None = None) -> None:
        spec = job.spec
        selected = None if spec.selected is None else json.dumps(list(spec.selected))
        key = normalize_url(spec.url) if url_key is None else url_key
        values: tuple[object, ...] = (job.id, spec.url, key, spec.name, spec.mode)
        values += (spec.plugin, spec.workers, json.dumps(list(spec.prefer)), spec.client_id, selected)
        values += (int(spec.tags), spec.render)
        values += (job.status, job.error, job.title, job.player, job.created_at, job.updated_at, self._run_id)
        conn.execute(_INSERT_JOB, values)

    def _touch(self, conn: sqlite3.Connection, job_ids: Iterable[str]) -> None:
        now = time.time()
        conn.executemany(
            "UPDATE jobs SET updated_at = ?, run_id = ? WHERE id = ?",
            [(now, self._run_id, job_id) for job_id in job_ids],
        )

    async def _read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closing:
            raise JobError("the job store is closed", expected=False)
        return await asyncio.to_thread(self._run_read, query)

    def _run_read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            conn = self._readers.pop() if self._readers else None
        try:
            if conn is None:
                conn = _connect(self.path, self._busy_timeout, writer=False)
            conn.execute("BEGIN")
            try:
                return query(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc
        finally:
            if conn is not None:
                with self._lock:
                    if self._closing:
                        conn.close()
                    else:
                        self._readers.append(conn)

    async def _write(self, apply: Callable[[sqlite3.Connection], _T]) -> _T:
        future = self._loop.create_future()
        await self._put(_Command(apply, future))
        result: _T = await future
        return result

    async def _put(self, item: _Item) -> None:
        """Queue a write; waits (without blocking the loop) while ``queue_size`` writes are pending."""
        await self._slots.acquire()
        with self._lock:
            refusal = self._refusal()
            if refusal is None:
                self._queue.put_nowait(item)
        if refusal is not None:
            self._slots.release()
            raise refusal

    def _refusal(self) -> JobError | None:
        if self._failure is not None:
            error = JobError(f"the job store {self.path} stopped: {self._failure}", expected=False)
            error.__cause__ = self._failure
            return error
        if self._closing:
            return JobError("the job store is closed", expected=False)
        return None

    def _writer_main(self) -> None:
        try:
            conn = _connect(self.path, self._busy_timeout, writer=True)
        except BaseException as exc:
            self._fail_all(exc)
            return
        try:
            stop = False
            while not stop:
                batch: builtins.list[_Item] = []
                item = self._queue.get()
                while item is not None:
                    batch.append(item)
                    if len(batch) >= self._max_batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                stop = item is None
                if batch:
                    self._run_batch(conn, batch)
        except BaseException as exc:
            self._fail_all(exc)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: builtins.list[_Item]) -> None:
        outcomes: builtins.list[_Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            run: builtins.list[_TrackUpdate] = []
            for item in batch:
                if isinstance(item, _TrackUpdate):
                    run.append(item)
                    continue
                if run:
                    outcomes.extend(self._run_track_updates(conn, run))
                    run = []
                outcomes.append(self._run_command(conn, item))
            if run:
                outcomes.extend(self._run_track_updates(conn, run))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = _store_error(exc)
            outcomes = [(item.future, None, error) for item in batch]
        except BaseException as exc:
            self._settle([(item.future, None, exc) for item in batch])
            raise
        self._settle(outcomes)

    @staticmethod
    def _run_command(conn: sqlite3.Connection, command: _Command) -> _Outcome:
        conn.execute("SAVEPOINT command")
        try:
            result = command.apply(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO command")
            conn.execute("RELEASE command")
            return command.future, None, _store_error(exc)
        conn.execute("RELEASE command")
        return command.future, result, None

    def _run_track_updates(
        self, conn: sqlite3.Connection, updates: builtins.list[_TrackUpdate]
    ) -> builtins.list[_Outcome]:
        merged: dict[tuple[str, int], dict[str, object]] = {}
        for update in updates:
            merged.setdefault((update.job_id, update.index), {}).update(update.fields)
        missing: dict[tuple[str, int], BaseException] = {}
        for (job_id, index), fields in merged.items():
            assignments = ", ".join(f"{name} = ?" for name in fields)
            query = f"UPDATE tracks SET {assignments} WHERE job_id = ? AND idx = ?"
            if conn.execute(query, (*fields.values(), job_id, index)).rowcount == 0:
                known = conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone()
                missing[job_id, index] = (
                    JobError(f"job {job_id!r} has no track {index}")
                    if known
                    else JobNotFound(f"no job with id {job_id!r}")
                )
        self._touch(conn, {job_id for job_id, _ in merged})
        return [(u.future, None, missing.get((u.job_id, u.index))) for u in updates]

    def _settle(self, outcomes: builtins.list[_Outcome]) -> None:
        """Hand results to the loop in one callback; a closed loop means nobody waits any more."""
        try:
            self._loop.call_soon_threadsafe(self._deliver, outcomes)
        except RuntimeError:
            pass

    def _deliver(self, outcomes: builtins.list[_Outcome]) -> None:
        for future, result, error in outcomes:
            if not future.done():
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
            self._slots.release()

    def _fail_all(self, exc: BaseException) -> None:
        """The writer cannot go on: refuse new writes and fail every queued one, so nobody hangs."""
        with self._lock:
            self._failure = exc
            leftovers: builtins.list[_Outcome] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    leftovers.append((item.future, None, self._refusal()))
        self._settle(leftovers)
