"""Job leases on a shared store: claimed, not assigned; held while renewed; taken over when they lapse.

A node holds an active job while ``lease_until`` (the database's clock) is ahead. It renews its jobs every
third of the lease; a node that dies stops renewing, its leases lapse, and the next node to look claims
them with ``FOR UPDATE SKIP LOCKED`` (two nodes looking at once never claim the same job) and resumes
them: server-mode downloads continue from the ``.part`` files on the shared downloads folder. A job a node
no longer holds (taken over after a stall, or ended by another node: cancelled) is stopped locally at its
next renewal, so no job runs twice at once for longer than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

from audiofetch.config import Settings
from audiofetch.jobs._events import JOB_COMPLETED, Subscription
from audiofetch.jobs._model import Job
from audiofetch.jobs._pgschema import ACTIVE_SQL
from audiofetch.jobs._store_api import JobStoreAPI

if TYPE_CHECKING:
    import asyncpg

__all__ = ["CLAIM_BATCH", "LeaseKeeper", "claim_lapsed", "lease_sql", "node_name", "renew"]

log = logging.getLogger(__name__)

CLAIM_BATCH = 8
"""Jobs one node takes over per look, so the jobs of a dead node spread over the nodes left."""


def node_name(settings: Settings) -> str:
    """This node's name in leases and its spool folder: ``AUDIOFETCH_NODE_NAME``, else host and process."""
    name = settings.node_name or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "node"


def lease_sql(first: int) -> str:
    """``SET`` clauses giving the lease to the node in parameter ``$first`` for ``$first+1`` seconds."""
    return f"lease_node = ${first}, lease_until = now() + make_interval(secs => ${first + 1})"


async def claim_lapsed(conn: asyncpg.Connection, node: str, seconds: float) -> list[str]:
    """Take up to ``CLAIM_BATCH`` active jobs whose lease lapsed (or that have none) for ``node``."""
    rows = await conn.fetch(
        f"""UPDATE jobs SET {lease_sql(1)}
            WHERE id IN (
                SELECT id FROM jobs
                WHERE status IN {ACTIVE_SQL} AND (lease_until IS NULL OR lease_until < now())
                ORDER BY created_at, seq
                FOR UPDATE SKIP LOCKED
                LIMIT $3
            )
            RETURNING id""",
        node,
        seconds,
        CLAIM_BATCH,
    )
    return [row["id"] for row in rows]


async def renew(conn: asyncpg.Connection, node: str, seconds: float, job_ids: list[str]) -> frozenset[str]:
    """Extend ``node``'s leases on ``job_ids``; the ones it still holds and that are still active."""
    rows = await conn.fetch(
        f"UPDATE jobs SET {lease_sql(1)} WHERE lease_node = $1 AND id = ANY($3) AND status IN {ACTIVE_SQL} "
        "RETURNING id",
        node,
        seconds,
        job_ids,
    )
    return frozenset(row["id"] for row in rows)


async def release(conn: asyncpg.Connection, node: str, job_id: str) -> None:
    """Drop ``node``'s lease on ``job_id`` (if it still holds it): the job is anyone's to claim."""
    await conn.execute(
        "UPDATE jobs SET lease_node = NULL, lease_until = NULL WHERE id = $1 AND lease_node = $2",
        job_id,
        node,
    )


class LeaseKeeper:
    """The runner's side: every ``interval`` seconds renew what runs here, stop what was lost, and adopt
    what other nodes left behind. A store failure is logged and tried again at the next round."""

    def __init__(
        self,
        store: JobStoreAPI,
        interval: float,
        *,
        held: Callable[[], Collection[str]],
        lost: Callable[[str], Awaitable[None]],
        adopt: Callable[[Job], Awaitable[None]],
        busy: Callable[[], bool] = lambda: False,
        events: Subscription | None = None,
    ) -> None:
        self._store, self._interval = store, interval
        self._held, self._lost, self._adopt, self._busy = held, lost, adopt, busy
        self._events = events
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look now rather than at the next round (this node has room again)."""
        self._wake.set()

    def start(self) -> None:
        """Begin the rounds (the first after one interval: start-up already adopted what it found), and
        look at once when ``events`` says a job held here ended elsewhere (cancelled on another node)."""
        self._tasks = [asyncio.create_task(self._rounds(), name="job-leases")]
        if self._events is not None:
            self._tasks.append(asyncio.create_task(self._watch(self._events), name="job-leases-events"))

    async def close(self) -> None:
        """Stop the rounds; leases then lapse on their own unless the jobs end first."""
        if self._events is not None:
            self._events.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _watch(self, events: Subscription) -> None:
        async for event in events:
            if event.type == JOB_COMPLETED and event.job_id in self._held():
                self.wake()

    async def round(self) -> None:
        """One renewal and take-over pass."""
        mine = set(self._held())
        kept = await self._store.renew_leases(mine)
        for job_id in sorted(mine - kept):
            log.info("job %s is no longer held here (ended or taken over elsewhere): stopping it", job_id)
            await self._lost(job_id)
        if self._busy():  # no room here: leave waiting and orphaned jobs to a node that has some
            return
        for job in await self._store.interrupted():
            log.info("taking job %s (%s): no node holds it", job.id, job.status)
            await self._adopt(job)

    async def _rounds(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.round()
            except Exception:
                log.exception("could not renew or take over job leases; trying again")
