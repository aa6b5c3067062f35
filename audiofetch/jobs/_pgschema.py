"""PostgreSQL schema of the shared job store: numbered migrations, applied once by whichever node is first.

The tables mirror the SQLite store's (same columns, same checks) plus what several nodes need: a lease
per job (``lease_node``, ``lease_until``, timed by the database's clock so nodes' clocks never matter),
the event log the nodes' brokers share, and the counters behind login throttling, revoked sessions and
per-address limits. Every node runs ``migrate`` at start; an advisory lock makes the others wait for the
first, so three nodes starting together apply each step once.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from audiofetch.errors import JobError
from audiofetch.jobs._model import ACTIVE_STATUSES, JOB_STATUSES, TRACK_STATUSES
from audiofetch.jobs._store import Migration
from audiofetch.jobs._store_api import sql_set

__all__ = ["ACTIVE_SQL", "EVENTS_CHANNEL", "MIGRATE_LOCK", "PG_MIGRATIONS", "migrate"]

MIGRATE_LOCK = 18_0001
"""Advisory lock key held while migrating (a transaction lock: released with the transaction)."""
EVENTS_LOCK = 18_0003
"""Advisory lock key held while events are written: ids become visible in the order they are given."""
EVENTS_CHANNEL = "audiofetch_events"


ACTIVE_SQL = sql_set(ACTIVE_STATUSES)

PG_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs, their tracks and the nodes' leases on them",
        (
            f"""CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                seq BIGSERIAL NOT NULL,
                url TEXT NOT NULL,
                url_key TEXT NOT NULL,
                name TEXT,
                mode TEXT NOT NULL CHECK (mode IN ('browser', 'server')),
                plugin TEXT,
                workers INTEGER,
                prefer TEXT NOT NULL DEFAULT '[]',
                client_id TEXT NOT NULL DEFAULT '',
                selected TEXT,
                tags BOOLEAN NOT NULL DEFAULT TRUE,
                render TEXT CHECK (render IN ('auto', 'always', 'never')),
                status TEXT NOT NULL CHECK (status IN {sql_set(JOB_STATUSES)}),
                error TEXT,
                title TEXT,
                player TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                lease_node TEXT,
                lease_until TIMESTAMPTZ
            )""",
            "CREATE INDEX jobs_by_age ON jobs (created_at, seq)",
            f"CREATE INDEX jobs_active_by_url ON jobs (url_key, mode) WHERE status IN {ACTIVE_SQL}",
            f"CREATE INDEX jobs_active_by_client ON jobs (client_id) WHERE status IN {ACTIVE_SQL}",
            f"CREATE INDEX jobs_active_by_lease ON jobs (lease_until) WHERE status IN {ACTIVE_SQL}",
            "CREATE INDEX jobs_by_client ON jobs (client_id, created_at)",
            f"""CREATE TABLE tracks (
                job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                url TEXT NOT NULL,
                title TEXT,
                status TEXT NOT NULL CHECK (status IN {sql_set(TRACK_STATUSES)}),
                bytes_done BIGINT NOT NULL DEFAULT 0,
                size BIGINT,
                file_name TEXT,
                error TEXT,
                PRIMARY KEY (job_id, idx)
            )""",
        ),
    ),
    Migration(
        2,
        "events: every node's job events, numbered once, announced with NOTIFY",
        (
            """CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                type TEXT NOT NULL,
                job_id TEXT NOT NULL,
                owner TEXT,
                data TEXT NOT NULL,
                at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            # One round trip per batch: lock (so ids become visible in order), insert, announce.
            f"""CREATE FUNCTION audiofetch_publish(types TEXT[], job_ids TEXT[], datas TEXT[], owners TEXT[])
            RETURNS VOID LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock({EVENTS_LOCK});
                INSERT INTO events (type, job_id, data, owner)
                    SELECT * FROM unnest(types, job_ids, datas, owners);
                PERFORM pg_notify('{EVENTS_CHANNEL}', '');
            END $$""",
        ),
    ),
    Migration(
        3,
        "the login throttle's state and revoked sessions, shared by every node",
        (
            """CREATE TABLE login_throttle (
                client TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                blocked_until DOUBLE PRECISION NOT NULL,
                last_attempt DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE login_budget (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                level DOUBLE PRECISION NOT NULL,
                level_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE revoked_tokens (
                token_id TEXT PRIMARY KEY,
                expires_at DOUBLE PRECISION NOT NULL
            )""",
        ),
    ),
    Migration(
        4,
        "jobs.address: who submitted an active job, for the per-address limit on every node; "
        "cleared when the job ends",
        (
            "ALTER TABLE jobs ADD COLUMN address TEXT",
            f"CREATE INDEX jobs_active_by_address ON jobs (address) WHERE status IN {ACTIVE_SQL}",
        ),
    ),
)


async def migrate(conn: asyncpg.Connection, migrations: Sequence[Migration] = PG_MIGRATIONS) -> None:
    """Bring the schema up to date in one transaction, under ``MIGRATE_LOCK``."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3... in order")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATE_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, summary TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
        if current > len(migrations):
            raise JobError(
                f"the job database has schema version {current}, newer than this AudioFetch knows "
                f"({len(migrations)}); upgrade AudioFetch on every node"
            )
        for migration in migrations[current:]:
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, summary) VALUES ($1, $2)",
                migration.version,
                migration.summary,
            )
