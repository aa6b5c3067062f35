"""Pages whose tracks exist only once their scripts run, through the CLI, the API and the web form.

Each page gives its exact track list, in page order, with titles: a playlist fetched after load, URLs
decoded in a click handler with titles only in the Media Session, web components with open shadow
roots, and lazy ``<audio preload=none>`` elements. Real Chromium, real sockets, 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from audiofetch.jobs import JobRunner
from audiofetch.render import Renderer
from audiofetch.web._services import RUNNER_FACTORY_KEY
from tests.render.conftest import needs_chromium
from tests.render.site import PAGES, RenderSite, audio_bytes
from tests.web.apikit import SAME_ORIGIN, admin_settings, build_app

pytestmark = needs_chromium
REPO = Path(__file__).resolve().parents[2]


async def run_cli(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "audiofetch", *args, "--allow-network", "127.0.0.0/8",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    return process.returncode or 0, stdout.decode(), stderr.decode()


def listed(origin: TestServer, tracks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    prefix = str(origin.make_url("/")).rstrip("/")
    return [(t["url"].removeprefix(prefix), t["title"]) for t in tracks]


@pytest.mark.parametrize("page", list(PAGES))
async def test_cli_inspect_lists_the_tracks_in_page_order_with_titles(origin: TestServer, page: str) -> None:
    code, stdout, stderr = await run_cli("inspect", str(origin.make_url(f"/render/{page}.html")), "--json")
    assert code == 0, stderr
    assert listed(origin, json.loads(stdout)["tracks"]) == PAGES[page]


async def test_cli_never_leaves_the_scripts_alone(origin: TestServer) -> None:
    code, _, stderr = await run_cli(
        "inspect", str(origin.make_url("/render/click.html")), "--render", "never"
    )
    assert code == 3 and "No audio found on this page." in stderr


async def test_cli_get_hands_the_scripts_cookie_and_the_referer_to_the_downloads(
    origin: TestServer, site: RenderSite, tmp_path: Path
) -> None:
    page = str(origin.make_url("/render/click.html"))
    code, _, stderr = await run_cli("get", page, "Trains", "--out", str(tmp_path), "--no-tags")
    assert code == 0, stderr
    saved = sorted(path.read_bytes() for path in (tmp_path / "Trains").glob("*.mp3"))
    assert saved == sorted(audio_bytes(f"click-{index}.mp3") for index in (1, 2, 3))
    assert {(cookie, referer) for _, cookie, referer in site.audio_requests} == {("listener=night-owl", page)}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with the render pass on (``client`` serves the app built from them)."""
    return settings.with_overrides(render="auto")


async def test_api_preview_lists_each_page_s_tracks(client: TestClient, origin: TestServer) -> None:
    for page, expected in PAGES.items():
        url = str(origin.make_url(f"/render/{page}.html"))
        response = await client.get("/api/preview", params={"url": url})
        assert response.status == 200, await response.text()
        assert listed(origin, (await response.json())["tracks"]) == expected, page


async def test_api_job_with_render_always_has_the_rendered_tracks(
    client: TestClient, origin: TestServer
) -> None:
    url = str(origin.make_url("/render/shadow.html"))
    response = await client.post("/api/download", json={"url": url, "render": "always"}, headers=SAME_ORIGIN)
    assert response.status == 202, await response.text()
    job = await response.json()
    assert job["render"] == "always"
    for _ in range(600):
        job = await (await client.get(f"/api/status/{job['id']}")).json()
        if job["status"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "ready", job
    assert listed(origin, job["tracks"]) == PAGES["shadow"]


async def test_api_refuses_an_unknown_render_choice(client: TestClient, origin: TestServer) -> None:
    url = str(origin.make_url("/render/shadow.html"))
    response = await client.post(
        "/api/download", json={"url": url, "render": "sometimes"}, headers=SAME_ORIGIN
    )
    assert response.status == 400
    assert "render" in (await response.json())["error"]


async def test_form_preview_with_the_checkbox_shows_each_page_s_tracks(
    client: TestClient, origin: TestServer
) -> None:
    home = await (await client.get("/")).text()
    assert 'name="render"' in home and "Run the page" in home
    for page, expected in PAGES.items():
        url = str(origin.make_url(f"/render/{page}.html"))
        response = await client.get(
            "/preview", params={"url": url, "render": "always"}, headers={"HX-Request": "true"}
        )
        assert response.status == 200, await response.text()
        text = await response.text()
        titles = [
            html.unescape(t).strip() for t in re.findall(r'<label for="pick-\d+">(.*?)</label>', text, re.S)
        ]
        assert [title for title in titles if title] == [title for _, title in expected], (page, text)


async def test_form_says_when_the_render_pass_is_unavailable(aiohttp_client, settings: Settings) -> None:
    def runner(settings: Settings, store: Any, broker: Any, fetcher: Any) -> JobRunner:
        missing = Renderer(settings, executable=Path("/nonexistent/chromium"))
        return JobRunner(settings, store, broker, fetcher, renderer=missing)

    app = build_app(admin_settings(settings))
    app[RUNNER_FACTORY_KEY] = runner
    client = await aiohttp_client(app)
    home = await (await client.get("/")).text()
    assert 'name="render"' not in home
    assert "unavailable on this server: Chromium is not installed at /nonexistent/chromium" in home
