"""Start-up and shut-down of the server's services, and the one call that installs the HTTP layer.

``services_ctx`` is a ``cleanup_ctx`` generator: it opens the job store, the event broker, the network
fetcher and the job runner, loads the keys and admin credentials, and closes everything in reverse
order. ``setup_server`` installs middlewares, routes and (by default) ``services_ctx``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from aiohttp import web

from audiofetch.config import Settings
from audiofetch.errors import JobNotFound
from audiofetch.jobs import (
    SQLITE_FILE,
    Broker,
    DataFolderLock,
    JobRunner,
    JobStore,
    JobStoreAPI,
    PgCounters,
    PgEventBus,
    PgJobStore,
    SnapshotFn,
    node_name,
)
from audiofetch.net import Fetcher, open_fetcher
from audiofetch.web._api import setup_api
from audiofetch.web._auth import REVOKED_FILE, RevocationList
from audiofetch.web._keys import (
    ADMIN_KEY,
    BROKER_KEY,
    KEYRING_KEY,
    LOGIN_THROTTLE_KEY,
    OPTIONS_KEY,
    REVOCATIONS_KEY,
    RUNNER_KEY,
    SESSION_STORAGE_KEY,
    SETTINGS_KEY,
    STORE_KEY,
    Runner,
    WebOptions,
)
from audiofetch.web._live import setup_live
from audiofetch.web._login import session_storage, setup_login
from audiofetch.web._middlewares import setup_middlewares
from audiofetch.web._openapi import setup_openapi
from audiofetch.web._secrets import ADMIN_FILE, derive_keys, load_or_create_admin, load_or_create_secret
from audiofetch.web._sent import setup_sent_pages
from audiofetch.web._shared import share_counters
from audiofetch.web._throttle import LoginThrottle
from audiofetch.web._tokenroutes import setup_api_tokens

__all__ = [
    "RUNNER_FACTORY_KEY",
    "STORE_FILE",
    "options_from_settings",
    "services_ctx",
    "setup_server",
    "snapshot_reader",
]

log = logging.getLogger(__name__)

STORE_FILE = SQLITE_FILE
# Jobs resent to a subscriber without a job filter whose Last-Event-ID is too old to replay.
SNAPSHOT_JOBS = 100


def options_from_settings(settings: Settings) -> WebOptions:
    """``WebOptions`` from the settings (``AUDIOFETCH_CORS_ORIGINS``); the rest keep their defaults."""
    return WebOptions(cors_origins=settings.cors_origins)


def snapshot_reader(store: JobStoreAPI) -> SnapshotFn:
    """The Broker's snapshot function: the current state of one job, or of the latest jobs."""

    async def snapshot(job_id: str | None) -> list[tuple[str, Mapping[str, Any]]]:
        if job_id is not None:
            try:
                job = await store.get(job_id)
            except JobNotFound:
                return []
            return [(job.id, job.to_json())]
        return [(job.id, job.to_json()) for job in await store.list_jobs(limit=SNAPSHOT_JOBS)]

    return snapshot


RunnerFactory = Callable[[Settings, JobStoreAPI, Broker, Fetcher], Runner]
# Tests of the HTTP layer alone may build another runner; the server always uses jobs.JobRunner.
RUNNER_FACTORY_KEY: web.AppKey[RunnerFactory] = web.AppKey("runner_factory")


def _real_runner(settings: Settings, store: JobStoreAPI, broker: Broker, fetcher: Fetcher) -> Runner:
    return JobRunner(settings, store, broker, fetcher)


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open store, broker, fetcher, runner and keys for ``app``; close them in reverse order."""
    settings = app[SETTINGS_KEY]
    if settings.database_url:  # several nodes share the data folder (downloads); the database coordinates
        async for _ in _services(app, settings):
            yield
        return
    lock = DataFolderLock(settings.data_dir)  # one server per data folder; refuses a read-only one too
    await asyncio.to_thread(lock.acquire)
    try:
        async for _ in _services(app, settings):
            yield
    finally:
        lock.release()


async def _services(app: web.Application, settings: Settings) -> AsyncIterator[None]:
    if OPTIONS_KEY not in app:
        app[OPTIONS_KEY] = options_from_settings(settings)
    master = await asyncio.to_thread(load_or_create_secret, settings)
    keyring = derive_keys(master)
    # A password generated now is printed once the server answers (``web._serve``), never logged.
    credentials = await asyncio.to_thread(load_or_create_admin, settings)
    app[KEYRING_KEY] = keyring
    app[ADMIN_KEY] = credentials
    started = False
    try:
        app[REVOCATIONS_KEY] = await asyncio.to_thread(
            RevocationList.load, settings.data_dir / REVOKED_FILE, time.time()
        )
        if LOGIN_THROTTLE_KEY not in app:
            app[LOGIN_THROTTLE_KEY] = LoginThrottle()
        app[SESSION_STORAGE_KEY] = session_storage(
            app, keyring.cookie_fernet(), max_age_seconds=settings.access_token_expire_minutes * 60
        )
        async with contextlib.AsyncExitStack() as stack:
            store, broker = await _open_store(app, settings, stack)
            fetcher = await stack.enter_async_context(open_fetcher(settings))
            runner = app.get(RUNNER_FACTORY_KEY, _real_runner)(settings, store, broker, fetcher)
            await runner.start()
            stack.push_async_callback(runner.close)
            app[STORE_KEY] = store
            app[BROKER_KEY] = broker
            app[RUNNER_KEY] = runner
            started = True
            yield
    except BaseException:
        if not started and credentials.source == "generated":
            # Never shown: a start that failed must not keep a password nobody has seen.
            (settings.data_dir / ADMIN_FILE).unlink(missing_ok=True)
        raise


async def _open_store(
    app: web.Application, settings: Settings, stack: contextlib.AsyncExitStack
) -> tuple[JobStoreAPI, Broker]:
    """The SQLite store and a local broker, or (``AUDIOFETCH_DATABASE_URL``) the PostgreSQL store, a
    broker whose events go through the database's bus to every node, and the login throttle and revoked
    sessions counted there too; closed by ``stack``."""
    if not settings.database_url:
        sqlite = await JobStore.open(settings.data_dir / STORE_FILE)
        stack.push_async_callback(sqlite.close)
        broker = Broker(snapshot=snapshot_reader(sqlite))
        stack.callback(broker.close)
        return sqlite, broker
    url = settings.database_url
    shared = await PgJobStore.open(url, node=node_name(settings), lease_seconds=settings.lease_seconds)
    stack.push_async_callback(shared.close)
    bus = await PgEventBus.open(shared.pool, url)
    stack.push_async_callback(bus.close)
    broker = Broker(snapshot=snapshot_reader(shared), relay=bus.relay, first_id=bus.last_id + 1)
    stack.callback(broker.close)
    bus.start(broker)
    counters = PgCounters(shared.pool, url)
    stack.push_async_callback(counters.close)
    await share_counters(app, counters)
    return shared, broker


def setup_server(app: web.Application, *, services: bool = True) -> None:
    """Install the HTTP layer on ``app``: middlewares, auth, API, live events, OpenAPI, services."""
    setup_middlewares(app)
    setup_login(app)
    setup_api_tokens(app, services=services)  # API tokens: after the session middleware
    setup_api(app)
    setup_sent_pages(app)
    setup_live(app)
    setup_openapi(app)
    if services:
        app.cleanup_ctx.append(services_ctx)
        app.on_shutdown.append(_stop_jobs)


async def _stop_jobs(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for busy handlers: end ZIP streams and job tasks now.

    Without it a ZIP waiting on a slow upstream would hold a graceful stop for minutes. ``close`` runs
    again at clean-up, harmlessly.
    """
    if RUNNER_KEY in app:
        await app[RUNNER_KEY].close()
