"""Event broker: per-process pub/sub of job events, adapted by the WebSocket and SSE endpoints.

Publishing never waits: it fills each subscriber's bounded queue synchronously. Slow subscribers: the
``track.progress`` events of a job waiting in their queue are merged into one (latest value per track,
moved to the tail so ids keep increasing); every other event is kept; a subscriber whose queue still
overflows is closed with ``closed_reason`` set, after it drains what it already holds, and may reconnect
with its last event id. Ids come from one increasing sequence that starts at the current time in
microseconds, so ids of an earlier process are always older than this one's buffer. With several nodes
(``relay``: the PostgreSQL bus) the bus numbers every event once for all nodes instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = [
    "Broker",
    "EVENT_TYPES",
    "Event",
    "JOB_COMPLETED",
    "JOB_CREATED",
    "JOB_DELETED",
    "JOB_SNAPSHOT",
    "JOB_STATUS",
    "JOB_TRACKS",
    "RelayFn",
    "SnapshotFn",
    "Subscription",
    "TRACK_PROGRESS",
]

JOB_CREATED = "job.created"
JOB_STATUS = "job.status"
JOB_TRACKS = "job.tracks"
TRACK_PROGRESS = "track.progress"
JOB_COMPLETED = "job.completed"
JOB_DELETED = "job.deleted"
JOB_SNAPSHOT = "job.snapshot"
EVENT_TYPES = (JOB_CREATED, JOB_STATUS, JOB_TRACKS, TRACK_PROGRESS, JOB_COMPLETED, JOB_DELETED, JOB_SNAPSHOT)

SnapshotFn = Callable[[str | None], Awaitable[Iterable[tuple[str, Mapping[str, Any]]]]]
"""Given the subscriber's job filter (None: all jobs), return ``(job_id, state)`` pairs to resend."""
RelayFn = Callable[[str, str, dict[str, Any], str | None], None]
"""Hands ``(type, job_id, data, owner)`` to a bus that numbers it and brings it back through ``deliver``."""


@dataclass(frozen=True, slots=True)
class Event:
    """One job event. ``id`` orders all events of this process; ``data`` is JSON-able.

    Snapshot events (``job.snapshot``) carry the id of the last event they already account for.
    ``owner`` is the job's ``client_id`` when the broker knows it (None: unknown); it is never sent.
    Its JSON text and its wire form (``wire``: the web layer says how) are encoded once, on first use,
    and shared by every subscriber.
    """

    id: int
    type: str
    job_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = field(default=None, compare=False)
    _text: str | None = field(default=None, init=False, repr=False, compare=False)
    _wire: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The message both endpoints send: ``{"id", "type", "job_id", "data"}``."""
        return {"id": self.id, "type": self.type, "job_id": self.job_id, "data": dict(self.data)}

    def json_text(self) -> str:
        """``to_json`` as compact JSON text (non-ASCII kept as is): the WebSocket message."""
        if self._text is None:
            text = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
            object.__setattr__(self, "_text", text)
            return text
        return self._text

    def wire(self, encode: Callable[[Event], bytes]) -> bytes:
        """The event as ``encode`` puts it on the wire, computed by the first subscriber only.

        One wire form per event: the SSE endpoint is its only user (the WebSocket sends ``json_text``).
        """
        if self._wire is None:
            wire = encode(self)
            object.__setattr__(self, "_wire", wire)
            return wire
        return self._wire


def _merge_progress(older: Event, newer: Event) -> Event:
    """One progress event holding the latest fields of every track either mentions, with the newer id."""
    tracks: dict[int, dict[str, Any]] = {entry["index"]: dict(entry) for entry in older.data["tracks"]}
    for entry in newer.data["tracks"]:
        tracks.setdefault(entry["index"], {}).update(entry)
    merged = {"tracks": [tracks[i] for i in sorted(tracks)]}
    return Event(newer.id, newer.type, newer.job_id, merged, owner=newer.owner)


class Subscription:
    """A subscriber's view: an async iterator of events, also an async context manager that closes it.

    Iteration ends once the subscription is closed and drained; ``closed_reason`` then says why when the
    broker did it. Cancelling a wait for the next event loses nothing.
    """

    def __init__(
        self,
        broker: Broker,
        job_id: str | None,
        capacity: int,
        backlog: Iterable[Event],
        snapshot: SnapshotFn | None,
    ) -> None:
        self.job_id = job_id
        self.closed_reason: str | None = None
        self.merged = 0
        self._broker = broker
        self._capacity = capacity
        self._backlog: deque[Event] = deque(backlog)
        self._snapshot = snapshot
        self._snapshot_id = broker.last_id
        self._pending: OrderedDict[int | str, Event] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once no new event will be added."""
        return self._closed

    def close(self, reason: str | None = None) -> None:
        """Stop receiving; already queued events can still be read. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.closed_reason = reason
        self._broker._forget(self)
        self._wakeup.set()

    def _offer(self, event: Event) -> bool:
        """Queue ``event``; False when the queue is full of events that may not be merged."""
        key: int | str = event.id
        if event.type == TRACK_PROGRESS:
            key = event.job_id
            older = self._pending.pop(key, None)
            if older is not None:
                event = _merge_progress(older, event)
                self.merged += 1
        if len(self._pending) >= self._capacity:
            return False
        self._pending[key] = event
        self._wakeup.set()
        return True

    def ready(self) -> list[Event]:
        """The events that can be had without waiting (none while a snapshot is still to be fetched):
        a subscriber that woke up late sends them together."""
        if self._snapshot is not None:
            return []
        events = list(self._backlog)
        self._backlog.clear()
        events += self._pending.values()
        self._pending.clear()
        return events

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._snapshot is not None:
                fetch, self._snapshot = self._snapshot, None
                try:
                    states = await fetch(self.job_id)
                except BaseException:
                    self._snapshot = fetch
                    raise
                for job_id, state in states:
                    self._backlog.append(Event(self._snapshot_id, JOB_SNAPSHOT, job_id, dict(state)))
                continue
            if self._backlog:
                return self._backlog.popleft()
            if self._pending:
                return self._pending.popitem(last=False)[1]
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(slots=True)
class _Throttle:
    next_at: float = 0.0
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None


class Broker:
    """Pub/sub for job events with a replay buffer and per-job progress throttling.

    ``snapshot`` serves subscribers whose Last-Event-ID is older than the buffer (None: they just get
    live events). ``progress_rate`` caps ``track.progress`` events per job per second. ``queue_size``
    bounds each subscriber's queue; ``buffer_size`` the replay buffer. Call from the event loop only.

    With ``relay`` (several nodes on one database) events are not sent here directly: they go to the bus,
    which numbers each once for all nodes and hands it back to every node's broker through ``deliver``.
    """

    def __init__(
        self,
        *,
        snapshot: SnapshotFn | None = None,
        buffer_size: int = 1000,
        queue_size: int = 256,
        progress_rate: float = 4.0,
        first_id: int | None = None,
        relay: RelayFn | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._relay = relay
        self._buffer: deque[Event] = deque(maxlen=buffer_size)
        self._queue_size = queue_size
        self._interval = 1.0 / progress_rate
        self._last_id = (time.time_ns() // 1000 if first_id is None else first_id) - 1
        self._subscribers: dict[Subscription, None] = {}
        self._throttles: dict[str, _Throttle] = {}
        self._owners: dict[str, str] = {}  # job id -> client id, as publishers said
        self._closed = False

    @property
    def last_id(self) -> int:
        """Id of the latest event published (one less than the first id before any)."""
        return self._last_id

    def subscribe(self, job_id: str | None = None, last_event_id: int | str | None = None) -> Subscription:
        """Events from now on (of one job, or all), after any the client missed since ``last_event_id``.

        A ``last_event_id`` still in the buffer replays the newer events; one older than the buffer, newer
        than anything sent, or unreadable yields snapshot events (``job.snapshot``) first instead.
        """
        backlog: list[Event] = []
        snapshot: SnapshotFn | None = None
        if last_event_id is not None:
            last = _parse_id(last_event_id)
            if last is not None and self._covers(last):
                backlog = [e for e in self._buffer if e.id > last and job_id in (None, e.job_id)]
            else:
                snapshot = self._snapshot
        subscription = Subscription(self, job_id, self._queue_size, backlog, snapshot)
        if self._closed:
            subscription.close("the event broker is shut down")
        else:
            self._subscribers[subscription] = None
        return subscription

    def publish(
        self, type: str, job_id: str, data: Mapping[str, Any] | None = None, *, owner: str | None = None
    ) -> Event:
        """Send an event to every matching subscriber now, after the job's pending progress.

        ``owner`` (the job's client id) is remembered for the job's later events, so the endpoints
        can tell who may see them without loading the job.
        """
        if owner is not None:
            self._owners[job_id] = owner
        self._flush(job_id)
        event = self._emit(type, job_id, dict(data or {}))
        if type == JOB_DELETED:
            self._owners.pop(job_id, None)
        if type in (JOB_COMPLETED, JOB_DELETED):
            throttle = self._throttles.pop(job_id, None)
            if throttle is not None and throttle.timer is not None:
                throttle.timer.cancel()
        return event

    def publish_progress(self, job_id: str, track_index: int, *, final: bool = False, **fields: Any) -> None:
        """Report a track's progress (e.g. ``bytes_done=``, ``size=``, ``status=``), throttled per job.

        Updates within one interval are merged into a single ``track.progress`` event with data
        ``{"tracks": [{"index": i, **latest fields}, ...]}``; the last update always goes out, at the
        end of its interval or at once when ``final`` is true (send it when a track ends).
        """
        throttle = self._throttles.setdefault(job_id, _Throttle())
        throttle.pending.setdefault(track_index, {"index": track_index}).update(fields)
        loop = asyncio.get_running_loop()
        if final or loop.time() >= throttle.next_at:
            self._flush(job_id)
        elif throttle.timer is None:
            throttle.timer = loop.call_at(throttle.next_at, self._flush, job_id)

    def close(self, reason: str = "the server is shutting down") -> None:
        """Send pending progress, then close every subscription with ``reason``."""
        for job_id in list(self._throttles):
            self._flush(job_id)
            throttle = self._throttles.pop(job_id)
            if throttle.timer is not None:
                throttle.timer.cancel()
        self._closed = True
        for subscription in list(self._subscribers):
            subscription.close(reason)

    def _covers(self, last: int) -> bool:
        oldest = self._buffer[0].id if self._buffer else self._last_id + 1
        return oldest - 1 <= last <= self._last_id

    def _flush(self, job_id: str) -> None:
        throttle = self._throttles.get(job_id)
        if throttle is None:
            return
        if throttle.timer is not None:
            throttle.timer.cancel()
            throttle.timer = None
        now = asyncio.get_running_loop().time()
        if not throttle.pending:
            if now >= throttle.next_at:
                del self._throttles[job_id]
            return
        tracks = [throttle.pending[index] for index in sorted(throttle.pending)]
        throttle.pending = {}
        throttle.next_at = now + self._interval
        self._emit(TRACK_PROGRESS, job_id, {"tracks": tracks})

    def deliver(self, event: Event) -> None:
        """An event numbered by the bus (from any node): buffer it and send it to the subscribers."""
        if event.owner is not None and event.type != JOB_DELETED:
            self._owners[event.job_id] = event.owner
        self._last_id = max(self._last_id, event.id)
        self._send(event)

    def _emit(self, type: str, job_id: str, data: dict[str, Any]) -> Event:
        owner = self._owners.get(job_id)
        if self._relay is not None:
            self._relay(type, job_id, data, owner)
            return Event(self._last_id, type, job_id, data, owner=owner)  # its number comes with delivery
        self._last_id += 1
        event = Event(self._last_id, type, job_id, data, owner=owner)
        self._send(event)
        return event

    def _send(self, event: Event) -> None:
        self._buffer.append(event)
        for subscription in list(self._subscribers):
            if subscription.job_id in (None, event.job_id) and not subscription._offer(event):
                subscription.close(f"too slow: more than {self._queue_size} events waiting")

    def _forget(self, subscription: Subscription) -> None:
        self._subscribers.pop(subscription, None)


def _parse_id(value: int | str) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        return None
