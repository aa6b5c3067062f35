"""Live job events over SSE (``GET /api/events``) and WebSocket (``/ws``): thin adapters over the Broker.

Both take ``?job=ID`` (one job) and a resume point (SSE: the ``Last-Event-ID`` header or
``?last_event_id=``; WebSocket: ``?last_event_id=``), and send ``sse_bytes(event)`` / ``Event.json_text()``.
Without ``?job`` a visitor sees the events of its own jobs only and the admin sees every job, since a
job id is what grants access to a job. The cross-site check on the handshake is the middleware's.
The SSE wire format lives here too; a job event is encoded once, by its first subscriber (``Event.wire``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator

from aiohttp import WSMsgType, web

from audiofetch.errors import JobNotFound
from audiofetch.jobs import JOB_CREATED, Event, JobStoreAPI, Subscription
from audiofetch.web._contract import EVENTS_QUERY
from audiofetch.web._keys import BROKER_KEY, STORE_KEY, web_options
from audiofetch.web._login import identify

__all__ = [
    "COALESCE_SECONDS",
    "SSE_HEADERS",
    "events_sse",
    "events_ws",
    "format_sse",
    "format_sse_comment",
    "setup_live",
    "sse_bytes",
]

log = logging.getLogger(__name__)

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
COALESCE_SECONDS = 0.025
"""A subscriber woken by an event waits this long and sends what arrived meanwhile in one write: with
hundreds of subscribers and a busy server, one wake-up and one write per event each would not keep up."""


# -- the SSE wire format, after aiohttp-sse's rules (CRLF line ends, one ``data:`` line per line of data)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SEP = "\r\n"


def format_sse(data: str, *, event: str | None = None, id: str | int | None = None) -> bytes:
    """One Server-Sent Event on the wire, UTF-8.

    Line breaks are removed from ``id`` and ``event``; each line of ``data`` becomes its own ``data:``
    line; lines end with CRLF and a blank line ends the event.
    """
    lines: list[str] = []
    if id is not None:
        lines.append(_LINE_BREAK.sub("", f"id: {id}"))
    if event is not None:
        lines.append(_LINE_BREAK.sub("", f"event: {event}"))
    lines.extend(f"data: {chunk}" for chunk in _LINE_BREAK.split(data))
    return (_SEP.join(lines) + _SEP + _SEP).encode("utf-8")


def format_sse_comment(text: str = "ping") -> bytes:
    """An SSE comment line (clients ignore it): the heartbeat that keeps proxies from closing the stream."""
    return f": {_LINE_BREAK.sub(' ', text)}{_SEP}{_SEP}".encode()


def _encode(event: Event) -> bytes:
    return format_sse(event.json_text(), event=event.type, id=event.id)


def sse_bytes(event: Event) -> bytes:
    """The event as SSE bytes: ``id:`` and ``event:`` lines, then its JSON as ``data:`` (encoded once)."""
    return event.wire(_encode)


class _Visibility:
    """Which jobs an unfiltered subscriber may see: its own, or all for admin. The owner comes with the
    event when the broker knows it; otherwise the job is looked up, once per job and subscriber."""

    def __init__(self, store: JobStoreAPI, client_id: str | None) -> None:
        self._store = store
        self._client_id = client_id
        self._owners: dict[str, bool] = {}

    async def allows(self, event: Event) -> bool:
        if self._client_id is None:
            return True
        if event.owner is not None:  # the broker knows the job's owner: no database load
            return event.owner == self._client_id
        known = self._owners.get(event.job_id)
        if known is None or (not known and event.type == JOB_CREATED):
            try:
                job = await self._store.get(event.job_id)
            except JobNotFound:
                return bool(known)
            known = job.spec.client_id == self._client_id
            self._owners[event.job_id] = known
        return known


async def _subscribe(request: web.Request, *, resume: str | None) -> tuple[Subscription, _Visibility]:
    """The subscription ``EVENTS_QUERY`` asks for, resumed after ``resume`` (a header) or its
    ``last_event_id``."""
    query = EVENTS_QUERY.read(request.query)
    job_id, last_event_id = query["job"], resume or query["last_event_id"]
    identity = await identify(request)
    owner = None if job_id is not None or identity.admin else identity.client_id
    subscription = request.app[BROKER_KEY].subscribe(job_id, last_event_id)
    return subscription, _Visibility(request.app[STORE_KEY], owner)


async def _events(
    subscription: Subscription, visibility: _Visibility, heartbeat: float
) -> AsyncGenerator[list[Event] | None, None]:
    """Visible events in batches (what queued up while the subscriber waited for its turn), with None
    whenever ``heartbeat`` seconds pass without one."""
    while True:
        try:
            async with asyncio.timeout(heartbeat):  # not wait_for: its 3.11 race can swallow a cancel
                event = await anext(subscription)
        except TimeoutError:
            yield None
            continue
        except StopAsyncIteration:
            return
        await asyncio.sleep(COALESCE_SECONDS)
        batch = [e for e in [event, *subscription.ready()] if await visibility.allows(e)]
        if batch:
            yield batch


async def events_sse(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: job events as they happen, a ``: ping`` comment every heartbeat."""
    subscription, visibility = await _subscribe(request, resume=request.headers.get("Last-Event-ID"))
    response = web.StreamResponse(headers=SSE_HEADERS)
    async with subscription:
        await response.prepare(request)
        try:
            async with contextlib.aclosing(
                _events(subscription, visibility, web_options(request.app).heartbeat)
            ) as batches:
                async for batch in batches:
                    wire = format_sse_comment() if batch is None else b"".join(sse_bytes(e) for e in batch)
                    await response.write(wire)
            if subscription.closed_reason:
                await response.write(format_sse_comment(f"closed: {subscription.closed_reason}"))
            await response.write_eof()
        except (ConnectionError, RuntimeError) as exc:
            # The client went away (a write on a closing transport); nothing is left to tell it.
            log.debug("SSE client gone: %s", exc)
    return response


async def events_ws(request: web.Request) -> web.WebSocketResponse:
    """WebSocket: each job event as one JSON text message; incoming messages are ignored."""
    options = web_options(request.app)
    subscription, visibility = await _subscribe(request, resume=None)
    ws = web.WebSocketResponse(heartbeat=options.heartbeat, max_msg_size=options.ws_max_msg_size)
    async with subscription:
        await ws.prepare(request)
        sender = asyncio.create_task(_send_events(ws, subscription, visibility, options.heartbeat))
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return ws


async def _send_events(
    ws: web.WebSocketResponse, subscription: Subscription, visibility: _Visibility, heartbeat: float
) -> None:
    try:
        async with contextlib.aclosing(_events(subscription, visibility, heartbeat)) as batches:
            async for batch in batches:
                for event in batch or ():
                    await ws.send_str(event.json_text())
    except ConnectionError:
        return
    reason = (subscription.closed_reason or "subscription ended")[:120]
    await ws.close(code=1001, message=reason.encode("utf-8"))


async def _end_live_streams(app: web.Application) -> None:
    """On shutdown, end every SSE and WebSocket stream so the graceful stop need not wait for them."""
    if BROKER_KEY in app:
        app[BROKER_KEY].close("the server is shutting down")


def setup_live(app: web.Application) -> None:
    """Register ``GET /api/events`` (SSE) and ``GET /ws`` (WebSocket); end them at shutdown."""
    app.on_shutdown.append(_end_live_streams)
    app.router.add_get("/api/events", events_sse, name="api.events", allow_head=False)
    app.router.add_get("/ws", events_ws, name="ws", allow_head=False)
