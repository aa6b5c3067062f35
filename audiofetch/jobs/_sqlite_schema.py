"""The SQLite side of the job store (``_store`` is its API): schema and migrations, rows to jobs, SQLite's
errors explained. Everything here runs on a connection in a thread (see ``_sqlite_writer``)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiofetch.errors import JobError, JobNotFound
from audiofetch.jobs._model import (
    ACTIVE_STATUSES,
    JOB_STATUSES,
    TRACK_STATUSES,
    Job,
    JobSpec,
    JobTrack,
    normalize_url,
)
from audiofetch.jobs._store_api import sql_set

__all__ = [
    "ACTIVE",
    "FIND_ACTIVE",
    "MIGRATIONS",
    "TRACK_COLUMNS",
    "Migration",
    "check_fields",
    "connect",
    "insert_job",
    "JOB_FIELDS",
    "TRACK_FIELDS",
    "load_job",
    "load_jobs",
    "migrate",
    "open_error",
    "store_error",
    "touch",
]


ACTIVE = sql_set(ACTIVE_STATUSES)
_JOB_COLUMNS = (
    "id, url, name, mode, plugin, workers, prefer, client_id, selected, tags, render, status, error, title, "
    "player, created_at, updated_at"
)
TRACK_COLUMNS = "idx, url, title, status, bytes_done, size, file_name, error"
_INSERT_JOB = (
    "INSERT INTO jobs (id, url, url_key, name, mode, plugin, workers, prefer, client_id, selected, tags, "
    "render, status, error, title, player, created_at, updated_at, run_id) VALUES ("
    + ", ".join("?" * 19)
    + ")"
)
# Duplicate control stays within one owner: another client's job for the same page is never handed out.
FIND_ACTIVE = (
    f"WHERE url_key = ? AND mode = ? AND client_id = ? AND status IN {ACTIVE} "
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
                status TEXT NOT NULL CHECK (status IN {sql_set(JOB_STATUSES)}),
                error TEXT,
                title TEXT,
                player TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                run_id TEXT NOT NULL
            )""",
            "CREATE INDEX jobs_by_age ON jobs (created_at)",
            f"CREATE INDEX jobs_active_by_url ON jobs (url_key, mode) WHERE status IN {ACTIVE}",
            f"CREATE INDEX jobs_active_by_client ON jobs (client_id) WHERE status IN {ACTIVE}",
            f"""CREATE TABLE tracks (
                job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                url TEXT NOT NULL,
                title TEXT,
                status TEXT NOT NULL CHECK (status IN {sql_set(TRACK_STATUSES)}),
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


JOB_FIELDS: dict[str, Callable[[object], bool]] = {
    "name": _optional_text,
    "status": lambda value: value in JOB_STATUSES,
    "error": _optional_text,
    "title": _optional_text,
    "player": _optional_text,
}
TRACK_FIELDS: dict[str, Callable[[object], bool]] = {
    "url": lambda value: isinstance(value, str),
    "title": _optional_text,
    "status": lambda value: value in TRACK_STATUSES,
    "bytes_done": _count,
    "size": lambda value: value is None or _count(value),
    "file_name": _optional_text,
    "error": _optional_text,
}


def check_fields(fields: dict[str, object], allowed: dict[str, Callable[[object], bool]]) -> None:
    """Refuse unknown names (TypeError) and bad values (ValueError) before anything is queued."""
    if not fields:
        raise TypeError("no field to update")
    for name, value in fields.items():
        if name not in allowed:
            raise TypeError(f"unknown field {name!r}; allowed: {', '.join(sorted(allowed))}")
        if not allowed[name](value):
            raise ValueError(f"bad value for {name}: {value!r}")


def store_error(exc: BaseException) -> BaseException:
    """Our own errors and bugs pass as they are; SQLite's become a JobError chained to the original."""
    if isinstance(exc, sqlite3.Error):
        error = JobError(f"job store failure: {exc}", expected=False)
        error.__cause__ = exc
        return error
    return exc


def open_error(path: Path, cause: sqlite3.Error) -> JobError | None:
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


def connect(path: Path, busy_timeout: float, *, writer: bool) -> sqlite3.Connection:
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


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
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


def load_jobs(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> list[Job]:
    rows = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs {where}", params).fetchall()
    ids = [row[0] for row in rows]
    tracks: dict[str, list[Any]] = {job_id: [] for job_id in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        query = f"SELECT job_id, {TRACK_COLUMNS} FROM tracks WHERE job_id IN ({marks}) ORDER BY job_id, idx"
        for track in conn.execute(query, chunk):
            tracks[track[0]].append(track[1:])
    return [_job_from_row(row, tracks[row[0]]) for row in rows]


def load_job(conn: sqlite3.Connection, job_id: str) -> Job:
    jobs = load_jobs(conn, "WHERE id = ?", (job_id,))
    if not jobs:
        raise JobNotFound(f"no job with id {job_id!r}")
    return jobs[0]


def insert_job(conn: sqlite3.Connection, job: Job, run_id: str, *, url_key: str | None = None) -> None:
    """Insert ``job`` as written by the process ``run_id``; ``url_key`` None: found by its page's URL."""
    spec = job.spec
    selected = None if spec.selected is None else json.dumps(list(spec.selected))
    key = normalize_url(spec.url) if url_key is None else url_key
    values: tuple[object, ...] = (job.id, spec.url, key, spec.name, spec.mode)
    values += (spec.plugin, spec.workers, json.dumps(list(spec.prefer)), spec.client_id, selected)
    values += (int(spec.tags), spec.render)
    values += (job.status, job.error, job.title, job.player, job.created_at, job.updated_at, run_id)
    conn.execute(_INSERT_JOB, values)


def touch(conn: sqlite3.Connection, job_ids: Iterable[str], run_id: str) -> None:
    """Mark the jobs as written now by the process ``run_id`` (so ``interrupted`` skips them)."""
    now = time.time()
    conn.executemany(
        "UPDATE jobs SET updated_at = ?, run_id = ? WHERE id = ?",
        [(now, run_id, job_id) for job_id in job_ids],
    )
