"""A page a user's browser sent: analysed from what was sent; the cookies sent narrow to the tracks'
sites, ride on that job's requests only and end with the job; running it again asks to send it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from audiofetch.detect import GivenPage
from audiofetch.errors import BadRequestError
from audiofetch.jobs import JobSpec
from audiofetch.net import JobCookie, JobCookies
from tests.kit.runner import open_harness, runner_settings
from tests.web.upstream import payload


async def test_a_sent_jobs_cookies_narrow_to_its_tracks_and_end_with_it(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    cookies_seen: list[str | None] = []

    async def track(request: web.Request) -> web.Response:
        cookies_seen.append(request.headers.get("Cookie"))
        return web.Response(body=payload(1, 4000), content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/a.mp3", track)
    server = await aiohttp_server(app)
    page = str(server.make_url("/album"))  # never served: the page is the one sent
    given = GivenPage(page, f"<title>Sent</title><audio src='{server.make_url('/a.mp3')}'></audio>")
    sent = JobCookies([JobCookie("s", "v", "127.0.0.1"), JobCookie("t", "w", "tracker.example")])
    async with open_harness(runner_settings(tmp_path)) as harness:
        runner = harness.runner
        job, _ = await runner.submit(JobSpec(page, mode="browser"), given=given, cookies=sent)
        ready = await runner.analyse(job.id)
        assert (ready.status, ready.title) == ("ready", "Sent")
        assert runner.sent_cookie_domains(job.id) == {"127.0.0.1"}
        assert cookies_seen and all(cookie == "s=v" for cookie in cookies_seen)  # the probe's requests
        await runner.cancel(job.id)
        assert runner.sent_cookie_domains(job.id) == frozenset()
        with pytest.raises(BadRequestError, match="send it again"):
            await runner.again(job.id)
