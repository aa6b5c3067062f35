"""Shared pieces for the API, live and login tests: an app with the HTTP layer, a client, helpers.

``serve`` starts the real application (create_app plus the HTTP layer, real store, broker, keys) on a
real socket. Until ``jobs.JobRunner`` exists, the runner is ``StoreRunner``: a small runner-shaped
class over the real store and broker that never downloads (enough for the HTTP layer's own rules).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch import jobs
from audiofetch.config import Settings
from audiofetch.errors import JobActiveError, JobError, NoAudioError
from audiofetch.jobs import JOB_CREATED, JOB_DELETED, JOB_STATUS, Broker, Job, JobSpec, JobStore
from audiofetch.models import Detection
from audiofetch.web import create_app
from audiofetch.web._keys import CLOCK_KEY, LOGIN_THROTTLE_KEY, OPTIONS_KEY, WebOptions
from audiofetch.web._services import RUNNER_FACTORY_KEY, setup_server
from audiofetch.web._throttle import LoginThrottle
from tests.hardening_api.serverproc import ADMIN_PASSWORD as ADMIN_PASSWORD

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
REAL_RUNNER = hasattr(jobs, "JobRunner")


class StoreRunner:
    """Runner-shaped stand-in over the real store and broker: jobs are created, listed, cancelled, deleted."""

    def __init__(self, settings: Settings, store: JobStore, broker: Broker, fetcher: object) -> None:
        self.settings, self.store, self.broker = settings, store, broker

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(self, spec: JobSpec, *, address: str | None = None) -> tuple[Job, bool]:
        job, created = await self.store.create_or_find_active(spec)
        if created:
            self.broker.publish(JOB_CREATED, job.id, job.to_json())
        return job, not created

    async def analyse(self, job_id: str) -> Job:
        return await self.store.get(job_id)

    async def preview(
        self,
        url: str,
        *,
        plugin: str = "auto",
        prefer: Any = (),
        render: str | None = None,
        client_id: str = "",
        address: str | None = None,
    ) -> Detection:
        raise NoAudioError(f"no audio found on {url}")

    def sent_cookie_domains(self, job_id: str) -> frozenset[str]:
        return frozenset()

    def render_unavailable(self) -> str | None:
        return None

    async def cancel(self, job_id: str) -> Job:
        job = await self.store.update(job_id, status="cancelled")
        self.broker.publish(JOB_STATUS, job_id, {"status": "cancelled"})
        return job

    async def retry_failed(self, job_id: str, *, address: str | None = None) -> Job:
        return await self.store.get(job_id)

    async def again(self, job_id: str, *, address: str | None = None) -> Job:
        return await self.store.get(job_id)

    async def busy_folders(self) -> frozenset[str]:
        return frozenset()

    async def delete(self, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job.active:
            raise JobActiveError("the job is still running; cancel it first")
        await self.store.delete(job_id)
        self.broker.publish(JOB_DELETED, job_id)

    async def open_stream(self, job_id: str) -> Any:
        await self.store.get(job_id)
        raise JobError("this stand-in runner has no streams")

    def downloads_dir(self) -> Path:
        return self.settings.data_dir / "downloads"


class FakeClock:
    """A clock the test moves by hand (monotonic for the throttle, wall for tokens)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def build_app(
    settings: Settings,
    *,
    options: WebOptions | None = None,
    throttle: LoginThrottle | None = None,
    clock: Callable[[], float] | None = None,
    stand_in: bool = False,
) -> web.Application:
    """The application with the HTTP layer installed (by create_app once the lead wires it)."""
    app = create_app(settings)
    if "api.download" not in app.router.named_resources():
        setup_server(app)
    app[OPTIONS_KEY] = options or WebOptions(heartbeat=0.2)
    if throttle is not None:
        app[LOGIN_THROTTLE_KEY] = throttle
    if clock is not None:
        app[CLOCK_KEY] = clock
    if stand_in or not REAL_RUNNER:
        app[RUNNER_FACTORY_KEY] = StoreRunner  # type: ignore[misc]  # a stand-in of the runner's shape
    return app


def admin_settings(settings: Settings) -> Settings:
    return settings.with_overrides(admin_password=ADMIN_PASSWORD)


async def login(client: TestClient, password: str = ADMIN_PASSWORD) -> str:
    """Log in (same-origin), returning the bearer token; the client keeps the cookie."""
    response = await client.post("/api/auth/login", json={"password": password}, headers=SAME_ORIGIN)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["expires_at"] > time.time()
    token: str = body["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
