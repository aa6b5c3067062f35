"""The one job-store interface: what the runner, the web layer and the CLI may ask of a store.

Two stores implement it: the embedded SQLite ``JobStore`` (one process, the default) and ``PgJobStore``
(PostgreSQL, shared by several nodes). Callers hold a ``JobStoreAPI`` and never learn which one runs,
except through ``shared``: a shared store's active jobs may be held by other nodes, so the runner keeps
leases on its own (``renew_leases``) and takes over the jobs of nodes that went silent (``interrupted``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from audiofetch.jobs._model import Job, JobSpec, JobTrack

__all__ = ["SQLITE_FILE", "JobStoreAPI", "sql_set"]

SQLITE_FILE = "audiofetch.sqlite3"


def sql_set(values: Iterable[str]) -> str:
    """A constant SQL list of status names for either store's schema (our own words, never user input)."""
    return "(" + ", ".join(f"'{value}'" for value in sorted(values)) + ")"


"""The embedded store's file in the data folder (the server's, and where ``move-jobs`` reads from)."""


class JobStoreAPI(Protocol):
    """Jobs and their tracks. Unknown ids raise ``JobNotFound``; store failures ``JobError``."""

    @property
    def shared(self) -> bool:
        """True when other nodes use the same store (their jobs are not this process's to resume)."""
        ...

    async def close(self) -> None:
        """Finish pending writes and release connections. Idempotent."""
        ...

    async def get(self, job_id: str) -> Job:
        """The job with this id."""
        ...

    async def list_jobs(self, limit: int = 50, offset: int = 0, *, client_id: str | None = None) -> list[Job]:
        """Jobs newest first, ``limit`` of them after skipping ``offset``; only ``client_id``'s if given."""
        ...

    async def find_active(self, url: str, mode: str, *, client_id: str) -> Job | None:
        """``client_id``'s oldest active job for the same page and mode, if any."""
        ...

    async def count_active(self, client_id: str | None = None) -> int:
        """Active jobs in all, or those of one client."""
        ...

    async def active(self) -> list[Job]:
        """Every active job, oldest first."""
        ...

    async def interrupted(self) -> list[Job]:
        """Active jobs nobody runs any more, now this process's to resume or fail, oldest first.

        SQLite: those an earlier process left. Shared: those whose node's lease lapsed, claimed here.
        """
        ...

    async def renew_leases(self, job_ids: Collection[str]) -> frozenset[str]:
        """Extend this process's hold on ``job_ids``; returns the ones still held and active (the others
        ended or were taken over elsewhere: their local work must stop)."""
        ...

    async def release_lease(self, job_id: str) -> None:
        """Give up this process's hold on an active job so that another node with room takes it (a shared
        store; nothing to do with one process)."""
        ...

    async def create(self, spec: JobSpec) -> Job:
        """Store a new queued job for ``spec`` and return it."""
        ...

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
        """``(new job, True)`` or ``(the client's active job for the page, False)``; the limits are
        counted atomically with the insert (``JobLimitError`` when reached). A shared store also counts
        ``max_per_address`` jobs per network ``address`` (one process counts those in memory)."""
        ...

    async def update(self, job_id: str, **fields: object) -> Job:
        """Change status, error, title, player or name."""
        ...

    async def set_tracks(self, job_id: str, tracks: Iterable[JobTrack]) -> Job:
        """Replace the job's track list."""
        ...

    async def update_track(self, job_id: str, index: int, **fields: object) -> None:
        """Change one track's status, bytes_done, size, file_name, error, title or url."""
        ...

    async def delete(self, job_id: str) -> None:
        """Remove the job and its tracks."""
        ...
