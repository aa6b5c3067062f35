"""A real JobRunner for in-process tests: settings that allow loopback only, a store, broker and fetcher."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

from audiofetch.config import Settings, parse_networks
from audiofetch.jobs import Broker, BrowserStream, JobRunner, JobStore
from audiofetch.net import open_fetcher
from audiofetch.zipstream import zip_stream


def runner_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Data under ``tmp_path``, 127.0.0.0/8 allowed, one retry, a short read timeout, and ``overrides``."""
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "allow_networks": parse_networks("127.0.0.0/8"),
        "retries": 1,
        "read_timeout": 5.0,
    }
    base.update(overrides)
    return Settings(**base)


class Harness(NamedTuple):
    """A started runner with its store, broker and settings (unpacks in that order)."""

    runner: JobRunner
    store: JobStore
    broker: Broker
    settings: Settings


async def read_zip(runner: JobRunner, job_id: str) -> tuple[bytes, BrowserStream]:
    """A browser-mode job's ZIP as its one consumer reads it, with the stream (its filename and length)."""
    stream = await runner.open_stream(job_id)
    body = bytearray()
    try:
        async for chunk in zip_stream(stream.entries):
            body += chunk
    finally:
        await stream.close()
    return bytes(body), stream


@contextlib.asynccontextmanager
async def open_harness(settings: Settings) -> AsyncIterator[Harness]:
    """A started JobRunner over a real store, broker and fetcher; closed on exit."""
    store = await JobStore.open(settings.data_dir / "jobs.sqlite3")
    broker = Broker()
    async with open_fetcher(settings) as fetcher:
        runner = JobRunner(settings, store, broker, fetcher)
        await runner.start()
        try:
            yield Harness(runner, store, broker, settings)
        finally:
            await runner.close()
            await store.close()
