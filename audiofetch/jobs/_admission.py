"""Who may start a job now: the limits overall and per client id (counted in the store's transaction)
and per network address (here, in memory: jobs and previews of this run count against it).
"""

from __future__ import annotations

import asyncio

from audiofetch.config import Settings
from audiofetch.errors import JobLimitError

from ._model import Job, JobSpec
from ._store_api import JobStoreAPI

__all__ = ["Admission"]


class Admission:
    """The limits of ``settings``, for the jobs of ``store``; see the module docstring."""

    def __init__(self, settings: Settings, store: JobStoreAPI) -> None:
        self._settings, self._store = settings, store
        self._lock = asyncio.Lock()
        self._by_address: dict[str, set[str]] = {}  # address -> its running jobs and previews

    async def admit(self, spec: JobSpec, *, address: str | None, shared: bool) -> tuple[Job, bool]:
        """A new job (``True``), or the client's active one for the same page and mode; ``JobLimitError``."""
        async with self._lock:
            mine = self._by_address.get(address, set()) if address else set()
            if address and len(mine) >= self._settings.max_jobs_per_address:
                existing = await self._store.find_active(spec.url, spec.mode, client_id=spec.client_id)
                if existing is not None:
                    return existing, False
                raise JobLimitError(
                    f"{len(mine)} jobs from your address are running; wait for one to finish",
                    retry_after=10,
                )
            job, created = await self._store.create_or_find_active(
                spec,
                max_active=self._settings.max_active_jobs,
                max_per_client=self._settings.max_jobs_per_client,
                shared=shared,
                # issue 18: on a shared store the address is counted over every node's jobs too
                address=address if self._store.shared else None,
                max_per_address=self._settings.max_jobs_per_address,
            )
            if created and address:
                self._by_address.setdefault(address, set()).add(job.id)
        return job, created

    async def admit_again(self, job: Job, *, address: str | None) -> None:
        """Count a finished job run again like a new one; ``JobLimitError`` when a limit is reached."""
        if await self._store.count_active() >= self._settings.max_active_jobs:
            raise JobLimitError("AudioFetch is busy with other jobs; try again shortly", retry_after=30)
        client = job.spec.client_id
        if client and await self._store.count_active(client) >= self._settings.max_jobs_per_client:
            raise JobLimitError("you have too many jobs running; wait for one to finish", retry_after=10)
        if address:
            await self.claim(address, job.id)

    async def claim(self, address: str, token: str) -> None:
        """Count ``token`` (a job or a preview) against ``address``'s limit; JobLimitError when full."""
        async with self._lock:
            mine = self._by_address.setdefault(address, set())
            if len(mine) >= self._settings.max_jobs_per_address:
                raise JobLimitError(
                    f"{len(mine)} jobs or previews from your address are running; wait for one",
                    retry_after=10,
                )
            mine.add(token)

    def release(self, address: str, token: str) -> None:
        """``token`` has ended: it no longer counts against ``address``."""
        mine = self._by_address.get(address)
        if mine is not None:
            mine.discard(token)
            if not mine:
                del self._by_address[address]
