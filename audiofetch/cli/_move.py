"""``audiofetch move-jobs``: copy an embedded SQLite instance's jobs into the PostgreSQL store of nodes.

Run it once, with the single-machine server stopped (its data-folder lock is taken, so a running server
is refused), before starting the nodes. Jobs keep their ids, owners, tracks and progress; a job already
in the database is left alone, so running it again only adds what is missing. Active jobs arrive with no
node holding them: the first node to look takes them over (server-mode jobs resume from their ``.part``
files once the old ``downloads`` folder is on the shared volume; browser-mode ones, whose browser is
gone, are marked failed with the reason).
"""

from __future__ import annotations

import asyncio
import builtins
from dataclasses import dataclass
from pathlib import Path

from audiofetch.errors import ConfigError, JobNotFound
from audiofetch.jobs import SQLITE_FILE, DataFolderLock, Job, JobStore, PgJobStore, safe_url

__all__ = ["MoveReport", "describe", "move_jobs"]

PAGE = 500


@dataclass(frozen=True, slots=True)
class MoveReport:
    moved: int
    active: int
    already_there: int


async def _all_jobs(store: JobStore) -> builtins.list[Job]:
    jobs: builtins.list[Job] = []
    while page := await store.list_jobs(limit=PAGE, offset=len(jobs)):
        jobs.extend(page)
    return jobs


async def move_jobs(data_dir: Path, database_url: str) -> MoveReport:
    """Copy every job of ``data_dir``'s SQLite store into ``database_url``; see the module docstring."""
    if not database_url:
        raise ConfigError("say where to: --to postgresql://... or AUDIOFETCH_DATABASE_URL")
    source = data_dir / SQLITE_FILE
    if not source.is_file():
        raise ConfigError(f"there is no job database in {data_dir} (looked for {source.name})")
    lock = DataFolderLock(data_dir)
    await asyncio.to_thread(lock.acquire)
    try:
        sqlite = await JobStore.open(source)
        try:
            jobs = await _all_jobs(sqlite)
        finally:
            await sqlite.close()
        target = await PgJobStore.open(database_url, node="move-jobs", max_size=2)
        moved = active = there = 0
        try:
            for job in reversed(jobs):  # oldest first, as they were created
                try:
                    await target.get(job.id)
                    there += 1
                    continue
                except JobNotFound:
                    pass
                await target.insert_job(job, leased=False)
                moved += 1
                active += job.active
        finally:
            await target.close()
    finally:
        lock.release()
    return MoveReport(moved, active, there)


def describe(report: MoveReport, database_url: str) -> str:
    """The one line the command prints."""
    line = f"moved {report.moved} jobs to {safe_url(database_url)}"
    if report.active:
        line += f" ({report.active} unfinished: the first node to start takes them over)"
    if report.already_there:
        line += f"; {report.already_there} were already there"
    return line
