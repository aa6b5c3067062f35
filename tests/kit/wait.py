"""Await a job's end (or a status) from its event stream instead of polling it.

The waiter subscribes first, then reads the job, then reads it again after each event: no sleep, and no
state change can slip between the read and the subscription. In-process tests listen to the ``Broker``;
HTTP tests to ``GET /api/events?job=ID`` (SSE). ``SAFETY`` bounds the whole wait so a broken job fails
the test instead of hanging it; it is a safety net, not a timing assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
from aiohttp.test_utils import TestClient

from audiofetch.jobs import Broker, Job, JobStore

State = TypeVar("State")
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
SAFETY = 100.0  # under pytest-timeout's 120 s, so a stuck job fails with its state


async def wait_until(
    changes: contextlib.AbstractAsyncContextManager[AsyncIterator[object]],
    read: Callable[[], Awaitable[State]],
    done: Callable[[State], bool],
    what: str,
) -> State:
    """``read()`` once the stream is open and again after each event, until ``done`` holds."""
    async with asyncio.timeout(SAFETY), changes as events:
        state = await read()
        while not done(state):
            if await anext(events, None) is None:
                raise AssertionError(f"the event stream ended before {what}: {state}")
            state = await read()
        return state


def _ended_or(statuses: tuple[str, ...]) -> Callable[[str, bool], bool]:
    """No statuses: the job ended (is no longer active); else its status is one of them."""
    return lambda status, active: status in statuses if statuses else not active


class InProcess(Protocol):
    """What ``job_in`` listens to and reads: a ``kit.runner.Harness``, for one."""

    @property
    def broker(self) -> Broker: ...

    @property
    def store(self) -> JobStore: ...


async def job_in(harness: InProcess, job_id: str, *statuses: str) -> Job:
    """The stored job once it ended (or reached one of ``statuses``), woken by the in-process broker."""
    wanted = _ended_or(statuses)
    return await wait_until(
        harness.broker.subscribe(job_id),
        lambda: harness.store.get(job_id),
        lambda job: wanted(job.status, job.active),
        f"job {job_id} reached {statuses or 'its end'}",
    )


Http = TestClient[Any, Any] | aiohttp.ClientSession
"""A TestClient (``base`` empty: paths) or a ClientSession (``base``: the server's URL)."""


@contextlib.asynccontextmanager
async def _sse(http: Http, url: str, headers: Mapping[str, str]) -> AsyncIterator[AsyncIterator[object]]:
    """The stream as a browser's EventSource opens it (same-origin, so the cross-site check lets it by)."""
    async with http.get(url, headers={"Sec-Fetch-Site": "same-origin", **headers}) as response:
        assert response.status == 200, await response.text()
        yield _events(response.content)


async def _events(content: aiohttp.StreamReader) -> AsyncIterator[object]:
    """One item per SSE event; comments (the heartbeat) are skipped. Read by chunks, not lines: a
    ``job.tracks`` event of a large album is one line longer than aiohttp's line limit."""
    buffer = b""
    async for chunk in content.iter_any():
        *events, buffer = _EVENT_END.split(buffer + chunk)
        for event in events:
            if any(line and not line.startswith(b":") for line in event.splitlines()):
                yield event


async def job_over_http(
    http: Http,
    job_id: str,
    *statuses: str,
    base: str = "",
    headers: Mapping[str, str] | None = None,
    until: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """``GET {base}/api/status/ID`` once the job ended, reached one of ``statuses`` or meets ``until``,
    woken by the job's Server-Sent Events; ``base`` is empty for a TestClient."""
    sent = dict(headers or {})
    wanted = _ended_or(statuses)

    async def read() -> dict[str, Any]:
        async with http.get(f"{base}/api/status/{job_id}", headers=sent) as response:
            assert response.status == 200, await response.text()
            job: dict[str, Any] = await response.json()
            return job

    return await wait_until(
        _sse(http, f"{base}/api/events?job={job_id}", sent),
        read,
        until or (lambda job: wanted(job["status"], job["active"])),
        f"job {job_id} reached {statuses or 'its end'}",
    )


async def job_at(base: str, job_id: str, *statuses: str, **kwargs: Any) -> dict[str, Any]:
    """``job_over_http`` against a server at ``base`` from a fresh session (no cookies)."""
    async with aiohttp.ClientSession() as session:
        return await job_over_http(session, job_id, *statuses, base=base, **kwargs)


async def partial_file(folder: Path) -> Path:
    """A ``.part`` file under ``folder`` with bytes on disk (what a kill must leave for a resume).

    The file system has no event stream to await, so this one looks every 50 ms, within ``SAFETY``.
    """
    async with asyncio.timeout(SAFETY):
        while True:
            found = [p for p in folder.rglob("*.part") if p.stat().st_size > 0]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
