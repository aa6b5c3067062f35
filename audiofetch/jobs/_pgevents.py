"""The nodes' shared event bus: each job event is written once to the ``events`` table and announced with
``NOTIFY``; every node's broker (the writer's too) receives it from there, with the same id everywhere.

So a browser following a job on node A sees the events of node B that runs it, and a ``Last-Event-ID``
given to any node means the same point. Writes take one advisory transaction lock, so ids become visible
in order and a reader that reads ``id > last seen`` never skips one (``audiofetch_publish``: one round
trip). The NOTIFY carries no payload (an
event can be larger than its 8000-byte limit): it only wakes the readers, which also look every
``POLL_SECONDS`` in case a notification was lost with a connection. Old events are pruned after
``KEEP_SECONDS``; a browser behind that gets a snapshot, as with one node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncpg

from audiofetch.jobs._events import Broker, Event
from audiofetch.jobs._pgschema import EVENTS_CHANNEL

__all__ = ["CHANNEL", "PgEventBus"]

log = logging.getLogger(__name__)

CHANNEL = EVENTS_CHANNEL
POLL_SECONDS = 2.0
KEEP_SECONDS = 3600
READ_BATCH = 1000
PRUNE_EVERY = 500  # batches written between prunes of old events

_Pending = tuple[str, str, str, str | None]


class PgEventBus:
    """Open with ``await PgEventBus.open(pool, url)``; ``relay`` is the Broker's ``relay``; ``start`` it
    with the broker, ``close`` it after the runner (it sends what is still pending first)."""

    def __init__(self, pool: asyncpg.Pool, listener: asyncpg.Connection, last_id: int) -> None:
        self._pool = pool
        self._listener = listener
        self.last_id = last_id
        self._pending: list[_Pending] = []
        self._write_wake = asyncio.Event()
        self._read_wake = asyncio.Event()
        self._broker: Broker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._batches = 0

    @classmethod
    async def open(cls, pool: asyncpg.Pool, url: str) -> PgEventBus:
        """Listen on ``CHANNEL`` (its own connection) and learn the latest event id."""
        listener = await asyncpg.connect(url)
        try:
            last = await listener.fetchval("SELECT coalesce(max(id), 0) FROM events")
            bus = cls(pool, listener, int(last))
            await listener.add_listener(CHANNEL, bus._notified)
        except BaseException:
            await listener.close()
            raise
        return bus

    def start(self, broker: Broker) -> None:
        """Begin writing relayed events and delivering every node's events to ``broker``."""
        self._broker = broker
        self._tasks = [
            asyncio.create_task(self._write_forever(), name="event-bus-writer"),
            asyncio.create_task(self._read_forever(), name="event-bus-reader"),
        ]

    def relay(self, type: str, job_id: str, data: dict[str, Any], owner: str | None) -> None:
        """The Broker's relay: queue the event for the writer (never waits)."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        self._pending.append((type, job_id, text, owner))
        self._write_wake.set()

    async def close(self) -> None:
        """Write what is pending, then stop reading and close the listener."""
        self._closing = True
        self._write_wake.set()
        if self._tasks:
            with contextlib.suppress(Exception):
                await self._tasks[0]  # the writer: it ends once nothing is pending
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._listener.close()

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._read_wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._write_wake.wait()
            self._write_wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await self._write(batch)
                except Exception:
                    log.exception("could not send %d job events to the other nodes", len(batch))
            if self._closing and not self._pending:
                return

    async def _write(self, batch: list[_Pending]) -> None:
        types, job_ids, datas, owners = (list(column) for column in zip(*batch, strict=True))
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT audiofetch_publish($1, $2, $3, $4)", types, job_ids, datas, owners)
            self._batches += 1
            if self._batches % PRUNE_EVERY == 0:
                await conn.execute(
                    "DELETE FROM events WHERE at < now() - make_interval(secs => $1)", KEEP_SECONDS
                )

    async def _read_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._read_wake.wait()
            self._read_wake.clear()
            try:
                more = await self._read()
            except Exception:
                log.exception("could not read job events from the database; trying again")
                more = False
            if more:
                self._read_wake.set()

    async def _read(self) -> bool:
        """Deliver the events after the last one seen; True when there may be more."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, type, job_id, owner, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                self.last_id,
                READ_BATCH,
            )
        for row in rows:
            self.last_id = row["id"]
            if self._broker is not None:
                data = json.loads(row["data"])
                self._broker.deliver(Event(row["id"], row["type"], row["job_id"], data, owner=row["owner"]))
        return len(rows) == READ_BATCH
