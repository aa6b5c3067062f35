"""The end-of-job webhook (AUDIOFETCH_NOTIFY_URL): a real listener receives the job's JSON, and the
address guard refuses a private address by default (the guard on, nothing reaches the listener)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from audiofetch.config import Settings
from audiofetch.jobs import Job, JobSpec
from audiofetch.jobs._webhook import JobWebhook
from audiofetch.net import open_fetcher
from tests.web.apikit import REAL_RUNNER, admin_settings, bearer, build_app, login
from tests.web.upstream import Upstream


class Listener:
    """A webhook receiver: every POST body (parsed JSON) and its headers, in order."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.arrived = asyncio.Event()
        self.status = status

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((json.loads(await request.read()), dict(request.headers)))
        self.arrived.set()
        return web.Response(status=self.status)


@pytest.fixture
async def listener(aiohttp_server: Any) -> tuple[Listener, TestServer]:
    hook = Listener()
    server: TestServer = await aiohttp_server(hook.app())
    return hook, server


def a_job(mode: str = "server") -> Job:
    return Job.new(JobSpec(url="https://example.org/album", mode=mode, name="Album"), 1_700_000_000.0)  # type: ignore[arg-type]


async def test_the_listener_receives_the_jobs_json(
    settings: Settings, listener: tuple[Listener, TestServer]
) -> None:
    hook, server = listener
    url = str(server.make_url("/hook"))
    job = a_job()
    async with open_fetcher(settings.with_overrides(notify_url=url)) as fetcher:
        webhook = JobWebhook(settings.with_overrides(notify_url=url), fetcher)
        assert await webhook.send(job.to_json()) is True
    [(body, headers)] = hook.received
    assert body == json.loads(json.dumps(job.to_json()))
    assert headers["Content-Type"] == "application/json"
    assert headers["X-AudioFetch-Event"] == "job.completed"


async def test_browser_mode_jobs_and_an_empty_setting_send_nothing(
    settings: Settings, listener: tuple[Listener, TestServer]
) -> None:
    hook, server = listener
    with_url = settings.with_overrides(notify_url=str(server.make_url("/hook")))
    async with open_fetcher(with_url) as fetcher:
        for chosen, job in ((with_url, a_job("browser")), (settings, a_job("server"))):
            webhook = JobWebhook(chosen, fetcher)
            webhook.job_ended(job)
            await webhook.wait()
        webhook = JobWebhook(with_url, fetcher)
        webhook.job_ended(a_job("server"))  # the control: the same listener does get this one
        await webhook.wait()
    assert [body["mode"] for body, _ in hook.received] == ["server"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_address_is_refused_by_default(
    settings: Settings, listener: tuple[Listener, TestServer], host: str, caplog: pytest.LogCaptureFixture
) -> None:
    hook, server = listener
    guarded = settings.with_overrides(allow_networks=(), notify_url=f"http://{host}:{server.port}/hook")
    async with open_fetcher(guarded) as fetcher:
        webhook = JobWebhook(guarded, fetcher, backoff=0.01)
        assert await webhook.send(a_job().to_json()) is False
    assert hook.received == []
    assert "not sent" in caplog.text and "refused" in caplog.text


async def test_a_failing_receiver_is_tried_again_then_given_up(
    settings: Settings, aiohttp_server: Any
) -> None:
    hook = Listener(status=503)
    server = await aiohttp_server(hook.app())
    with_url = settings.with_overrides(notify_url=str(server.make_url("/hook")))
    async with open_fetcher(with_url) as fetcher:
        webhook = JobWebhook(with_url, fetcher, attempts=3, backoff=0.01)
        assert await webhook.send(a_job().to_json()) is False
    assert len(hook.received) == 3


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_a_finished_server_job_calls_the_webhook(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, listener: tuple[Listener, TestServer]
) -> None:
    hook, hook_server = listener
    site = Upstream()
    site.album("/album", [("one.mp3", 20_000), ("two.mp3", 30_000)])
    origin = await aiohttp_server(site.app())
    configured = admin_settings(settings).with_overrides(notify_url=str(hook_server.make_url("/hook")))
    client = await aiohttp_client(build_app(configured))
    token = await login(client)
    body = {"url": str(origin.make_url("/album")), "name": "Harbour", "mode": "server"}
    response = await client.post("/api/download", json=body, headers=bearer(token))
    assert response.status == 202
    job_id = (await response.json())["id"]
    await asyncio.wait_for(hook.arrived.wait(), 60)
    [(sent, _)] = hook.received
    status = await (await client.get(f"/api/status/{job_id}")).json()
    assert sent["id"] == job_id and sent["status"] == "completed"
    assert sent["totals"]["tracks"] == 2 and sent["totals"]["tracks_done"] == 2
    assert sent == status
