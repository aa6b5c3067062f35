"""Carry download progress to the store and the broker without blocking the download.

``on_event`` is called synchronously by the download engine; the latest state per track is kept and a
single flusher task writes it (the store merges updates, the broker throttles them), so a burst of
events never queues up unbounded work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from audiofetch.download import ProgressEvent, TrackProgress

from ._events import Broker
from ._store_api import JobStoreAPI

__all__ = ["ProgressRelay"]

log = logging.getLogger(__name__)
_FINAL = ("done", "failed", "skipped")


class ProgressRelay:
    """Per-job bridge from ``TrackProgress`` events to the store and the broker."""

    def __init__(self, store: JobStoreAPI, broker: Broker, job_id: str) -> None:
        self._store, self._broker, self._job_id = store, broker, job_id
        self._pending: dict[int, TrackProgress] = {}
        # A track's end is published once it is in the store: a page reloading the job on that event
        # (live.js fetches the rendered card) then reads the new count, never the one before.
        self._finals: dict[int, dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def on_event(self, event: ProgressEvent) -> None:
        """The engine's callback: remember the latest state of the track and wake the flusher."""
        if not isinstance(event, TrackProgress):
            return
        if event.status == "skipped":  # the engine's "already there": for the job that track is done;
            event = replace(event, status="done")  # "skipped" means "not selected" in the job model
        self._pending[event.index] = event
        fields: dict[str, Any] = {
            "status": event.status,
            "bytes_done": event.bytes_done,
            "size": event.total,
            "file_name": event.filename,
            "error": event.error,
            "speed": round(event.speed),
        }
        if event.status in _FINAL:
            self._finals[event.index] = fields
        else:
            self._broker.publish_progress(self._job_id, event.index, **fields)
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name=f"progress-{self._job_id}")
        self._wake.set()

    async def _write_pending(self) -> None:
        pending, self._pending = self._pending, {}
        finals, self._finals = self._finals, {}
        try:
            for index, event in pending.items():
                await self._store.update_track(
                    self._job_id, index, status=event.status, bytes_done=event.bytes_done, size=event.total,
                    file_name=event.filename, error=event.error,
                )  # fmt: skip
        finally:
            for index, fields in finals.items():
                self._broker.publish_progress(self._job_id, index, final=True, **fields)

    async def _flush_forever(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._write_pending()
            except Exception:  # a store problem must not kill the download; the final flush retries
                log.exception("could not record progress of job %s", self._job_id)

    async def close(self) -> None:
        """Let the flusher finish its current write, then write what is still pending."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        await self._write_pending()
