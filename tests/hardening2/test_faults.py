"""Faults the audit had no time to try: nothing lost, a clear message each time.

Two servers on one data folder, a damaged job database, a read-only data folder and a disk that fills
in the middle of a track. The last two run the real server in its own mount namespace (``unshare
--mount``), where the data folder is a read-only bind mount or a 4 MiB tmpfs; the network is shared,
so the test reaches it on 127.0.0.1 as usual.
"""

from __future__ import annotations

import asyncio
import io
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from audiofetch.web._services import STORE_FILE
from tests.conftest import free_port
from tests.hardening2.kit import MIB, Browser, browsers, serve, site
from tests.hardening_api.serverproc import REPO, admin_token, server_env, wait_until_up


def _serve_once(env: dict[str, str], *, wrap: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``audiofetch serve`` expecting it to refuse to start; its output and exit code."""
    command = [sys.executable, "-m", "audiofetch", "serve"]
    if wrap:
        command = ["unshare", "--mount", "sh", "-c", f"{wrap} && exec {shlex.join(command)}"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("audiofetch: ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _mount_namespaces_refused() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if probe.returncode == 0 else f"unshare --mount is not permitted: {probe.stderr.strip()}"


needs_mounts = pytest.mark.skipif(_mount_namespaces_refused() is not None, reason="no mount namespaces")


async def test_a_second_server_on_the_same_data_folder_refuses_with_one_line(tmp_path: Path) -> None:
    async with serve(tmp_path) as first:
        env = server_env(first.data, free_port(), allow_networks="127.0.0.0/8")
        result = await asyncio.to_thread(_serve_once, env)
        line = _one_line(result)
        assert "another AudioFetch server" in line and str(first.data) in line
        async with browsers(first.base, "127.0.0.1") as (visitor,):  # the first server is unharmed
            assert (await visitor.json("GET", "/healthz"))[0] == 200


@pytest.mark.parametrize("damage", ["not a database", "garbled pages"])
async def test_a_damaged_job_database_is_refused_with_its_path_and_left_untouched(
    tmp_path: Path, damage: str
) -> None:
    async with serve(tmp_path):
        pass
    store = tmp_path / "data" / STORE_FILE
    with sqlite3.connect(store) as conn:  # a database with content, then damaged
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "not a database":
        store.write_bytes(b"this is no database, only text where one should be\n" * 40)
    else:
        data = bytearray(store.read_bytes())
        data[100 : len(data)] = b"\xa5" * (len(data) - 100)
        store.write_bytes(bytes(data))
    before = store.read_bytes()
    env = server_env(tmp_path / "data", free_port(), allow_networks="127.0.0.0/8")
    line = _one_line(await asyncio.to_thread(_serve_once, env))
    assert "is damaged or is not an AudioFetch database" in line and str(store) in line
    assert store.read_bytes() == before


@needs_mounts
async def test_a_read_only_data_folder_is_refused_clearly(tmp_path: Path) -> None:
    async with serve(tmp_path):
        pass  # a complete data folder: key, admin password, job database
    data = tmp_path / "data"
    before = sorted(p.name for p in data.iterdir())
    env = server_env(data, free_port(), allow_networks="127.0.0.0/8")
    folder = shlex.quote(str(data))
    wrap = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    line = _one_line(await asyncio.to_thread(_serve_once, env, wrap=wrap))
    assert f"the data folder {data} is not writable" in line and "Read-only file system" in line
    assert sorted(p.name for p in data.iterdir()) == before


@needs_mounts
async def test_a_disk_filling_mid_track_fails_that_track_and_keeps_no_partial_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = server_env(data, port, allow_networks="127.0.0.0/8", AUDIOFETCH_MIN_FREE_BYTES="1K")
    folder = shlex.quote(str(data))
    command = shlex.join([sys.executable, "-m", "audiofetch", "serve"])
    log = tmp_path / "server.log"
    async with site() as album:
        album.big_size = 8 * MIB
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "sh",
                    "-c",
                    f"mount -t tmpfs -o size=4m tmpfs {folder} && exec {command}",
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        admin = Browser(base)
        try:
            await asyncio.to_thread(wait_until_up, base, proc, log)
            headers = {"Authorization": f"Bearer {await asyncio.to_thread(admin_token, base)}"}
            url = album.url("/album?n=2&kind=big,ok&title=Full")
            status, job = await admin.json(
                "POST", "/api/download", json={"url": url, "mode": "server"}, headers=headers
            )
            assert status == 202, job
            done = await admin.job(job["id"], "completed", "failed")
            async with admin.session.get(f"{base}/api/downloads/Full/zip", headers=headers) as response:
                assert response.status == 200
                names = zipfile.ZipFile(io.BytesIO(await response.read())).namelist()
        finally:
            await admin.close()
            proc.kill()
            proc.wait(timeout=10)
    big, small = done["tracks"]
    assert done["status"] == "completed"
    assert big["status"] == "failed" and "the disk is full" in big["error"]
    assert small["status"] == "done"
    assert [name for name in names if not name.endswith(".m3u8")] == ["02 - Song 2.mp3"]  # no .part kept
