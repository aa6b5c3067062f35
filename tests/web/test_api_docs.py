"""docs/api.md's token examples are run as written: the Python script (15 lines at most) and the curl
commands each submit a page, follow its events and save the ZIP, against a real server with a token."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from audiofetch.config import Settings
from tests.web.apikit import ADMIN_PASSWORD, REAL_RUNNER, admin_settings, bearer, build_app
from tests.web.upstream import Upstream, sha256

pytestmark = pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ALBUM = [("one.mp3", 30_000), ("two.mp3", 50_000)]


def doc_block(after: str, language: str) -> str:
    """The first ``language`` code block of docs/api.md after the text ``after``."""
    text = API_DOC.read_text(encoding="utf-8")
    start = text.index(after)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None, f"no {language} block after {after!r}"
    return found.group(1)


@pytest.fixture
async def served(aiohttp_server: Any, settings: Settings) -> tuple[str, str, str, Upstream]:
    """A server (real runner) with a browser-mode token, and an album page: (base URL, token, page, site)."""
    site = Upstream()
    site.album("/album", ALBUM)
    origin: TestServer = await aiohttp_server(site.app())
    server: TestServer = await aiohttp_server(build_app(admin_settings(settings)))
    base = str(server.make_url("")).rstrip("/")
    async with ClientSession(base) as session:
        response = await session.post("/api/auth/login", json={"password": ADMIN_PASSWORD})
        admin = (await response.json())["token"]
        response = await session.post(
            "/api/admin/tokens", json={"name": "docs script", "kind": "browser"}, headers=bearer(admin)
        )
        assert response.status == 201
        token = (await response.json())["token"]
    return base, token, str(origin.make_url("/album")), site


def hashes_in(archive_bytes: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        assert archive.testzip() is None
        return sorted(sha256(archive.read(n)) for n in archive.namelist() if n.endswith(".mp3"))


async def run(*argv: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode(errors="replace")


async def test_the_python_script_in_the_docs_saves_the_zip(
    served: tuple[str, str, str, Upstream], tmp_path: Path
) -> None:
    base, token, page, site = served
    script = doc_block("the script below is run by tests/web/test_api_docs.py", "python")
    assert len([line for line in script.splitlines() if line.strip()]) <= 15
    (tmp_path / "fetch.py").write_text(script, encoding="utf-8")
    env = {"AUDIOFETCH_URL": base, "AUDIOFETCH_TOKEN": token}
    code, output = await run(sys.executable, "fetch.py", page, "album.zip", env=env, cwd=tmp_path)
    assert code == 0, output
    assert hashes_in((tmp_path / "album.zip").read_bytes()) == sorted(sha256(b) for b in site.tracks.values())
    # And a page without audio ends the script with the job's reason, not a traceback.
    site.pages["/nothing"] = "<!DOCTYPE html><html><body><p>silence</p></body></html>"
    code, output = await run(
        sys.executable, "fetch.py", page.replace("/album", "/nothing"), "none.zip", env=env, cwd=tmp_path
    )
    assert code == 1 and output.startswith("the job ended failed: ") and "Traceback" not in output


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
async def test_the_curl_commands_in_the_docs_save_the_zip(
    served: tuple[str, str, str, Upstream], tmp_path: Path
) -> None:
    base, token, page, site = served
    commands = doc_block("With `curl`, submit a page", "sh")
    first, rest = commands.split("\n", 1)
    assert first.startswith("AF=") and "TOKEN=" in first
    commands = f"AF={base} TOKEN={token}\n" + rest.replace("https://example.org/album", page)
    code, output = await run("bash", "-ec", commands, env={}, cwd=tmp_path)
    assert code == 0, output
    assert '"status":"ready"' in output
    assert hashes_in((tmp_path / "album.zip").read_bytes()) == sorted(sha256(b) for b in site.tracks.values())
