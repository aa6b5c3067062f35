"""The real CLI inside a network namespace that has only ``lo``: even a guard bug could not send a packet
out. Numeric IPv4 spellings and 0.0.0.0 must exit 2 with one line, and the listener bound to every local
address must see no connection; a control run with --allow-network shows that it would have seen one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.netns import unshare_refusal

REPO = Path(__file__).resolve().parents[2]


REFUSAL = unshare_refusal()
pytestmark = pytest.mark.skipif(REFUSAL is not None, reason=REFUSAL or "")

# The in-process tests (test_ssrf_guard.py) cover the other forms; these are the ones a resolver could
# turn into a loopback connect if the guard misread them, run end to end (each CLI run costs ~0.6 s).
REFUSED_URLS = [
    "http://0x7f000001:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
]


@pytest.fixture(scope="module")
def namespace_runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """One namespace for every URL (each through a fresh CLI process), plus the control run last."""
    data_dir = tmp_path_factory.mktemp("netns") / "data"
    urls = [*REFUSED_URLS, "allow:http://127.0.0.1:{port}/"]
    result = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-m", "tests.hardening.netns_probe", str(data_dir), *urls],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(runs) == len(urls)
    return runs


def test_the_namespace_has_only_loopback(namespace_runs: list[dict[str, Any]]) -> None:
    assert namespace_runs[0]["links"] == ["lo"]


@pytest.mark.parametrize("position", range(len(REFUSED_URLS)), ids=REFUSED_URLS)
def test_the_cli_refuses_with_one_line_and_the_listener_sees_nothing(
    namespace_runs: list[dict[str, Any]], position: int
) -> None:
    run = namespace_runs[position]
    lines = run["stderr"].splitlines()
    assert run["code"] == 2, run
    assert len(lines) == 1 and lines[0].startswith("audiofetch: "), run["stderr"]
    assert "refused" in lines[0] and "Traceback" not in run["stderr"]
    assert run["stdout"] == ""
    assert run["connections"] == 0


def test_control_the_listener_does_see_an_allowed_connection(namespace_runs: list[dict[str, Any]]) -> None:
    control = namespace_runs[-1]
    assert control["control"] and control["connections"] >= 1, control
    assert control["code"] == 4  # the listener hangs up at once: the page could not be fetched
