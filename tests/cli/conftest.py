"""Fixtures for the CLI tests: a threaded local site and a runner for ``python -m audiofetch``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.site_server import Site

ALLOW = ("--allow-network", "127.0.0.0/8")


@pytest.fixture
def site() -> Iterator[Site]:
    running = Site()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (stderr is a pipe, so not a TTY); AUDIOFETCH_* env cleared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    env["AUDIOFETCH_DATA_DIR"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, "-m", "audiofetch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
