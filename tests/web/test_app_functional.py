"""The web shell: home page, health check and static files through a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.web import create_app
from tests.conftest import free_port


async def test_home_page_renders_with_stylesheet(aiohttp_client, settings: Settings) -> None:
    client: TestClient = await aiohttp_client(create_app(settings))
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    assert "<h1" in html and "AudioFetch" in html
    href = html.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    css = await client.get(href)
    assert css.status == 200
    assert "prefers-color-scheme" in await css.text()


async def test_healthz_answers_ok(aiohttp_client, settings: Settings) -> None:
    client: TestClient = await aiohttp_client(create_app(settings))
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


def test_serve_command_starts_a_real_server(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AUDIOFETCH_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "audiofetch", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "server.out").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.out").read_text()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
            assert b"AudioFetch" in reply.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    assert (tmp_path / "data" / "audiofetch.log").exists()


def test_serve_refuses_a_bad_port_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "AUDIOFETCH_DATA_DIR": str(tmp_path / "data"), "PORT": "99999"}
    result = subprocess.run(
        [sys.executable, "-m", "audiofetch", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "audiofetch: PORT: 99999 is outside the allowed range 1-65535"
    ]
