"""The real ``audiofetch serve`` as a child process, for tests that signal, kill or fuzz it.

Blocking helpers (no event loop needed) so the same code runs in pytest, inside a network namespace
(``st_netns.py``) and in ``bench/load.py``. The server only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "correct horse battery staple"


def server_env(data_dir: Path, port: int, *, allow_networks: str, **extra: str) -> dict[str, str]:
    """The environment for ``audiofetch serve``: temp data dir, the test admin password, the allow-list."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUDIOFETCH_")}
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "AUDIOFETCH_DATA_DIR": str(data_dir),
            "AUDIOFETCH_ALLOW_NETWORKS": allow_networks,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AUDIOFETCH_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m audiofetch serve`` with ``env``; its output is appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "audiofetch", "serve"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def process(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` with output to ``log``; SIGTERM (then SIGKILL) on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_up(
    base: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    *,
    seconds: float = 30.0,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Poll ``/healthz`` until it answers 200; fail with the server log if the process dies first.

    A starting process has no event to await; every test that starts a server (or nginx) uses this."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2, context=tls) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise AssertionError("the server did not come up:\n" + log.read_text())


def admin_token(base: str) -> str:
    """Log in as the admin (a script: no browser headers) and return the bearer token."""
    request = urllib.request.Request(
        f"{base}/api/auth/login",
        data=json.dumps({"password": ADMIN_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.load(response)["token"]
    return token


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the server if it still runs (test clean-up; the graceful path is tested on its own)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
