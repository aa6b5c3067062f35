"""Schemathesis against the running server's ``/api/openapi.json``: no 500 on any generated input.

The real ``audiofetch serve`` runs in a network namespace holding only ``lo`` (``st_netns.py``), with an
empty allow-list: no URL schemathesis invents can send a packet anywhere. Checks: no server error,
every status and content type documented, every JSON body valid against its schema, for every
operation (anonymous, then as the admin), across the examples, coverage, fuzzing and stateful phases.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from audiofetch.web._openapi import openapi_document
from tests.hardening_api.serverproc import REPO
from tests.hardening_api.st_netns import STREAMING_PATHS
from tests.netns import unshare_refusal

pytest.importorskip("schemathesis", reason="schemathesis is not installed (test extra)")
REFUSAL = unshare_refusal()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(REFUSAL is not None, reason=REFUSAL or "")]

MAX_EXAMPLES = 25
SEED = 20240601
# Schemathesis leaves out the operation that serves the document it loaded.
SCHEMA_ITSELF = "GET /api/openapi.json"


def documented_operations() -> set[str]:
    paths = openapi_document()["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item}


def operations_in(report: Path) -> tuple[set[str], int]:
    """Operation names in a JUnit report, and its failures plus errors."""
    root = ElementTree.parse(report).getroot()
    names = {case.attrib["name"] for case in root.iter("testcase")} - {"Stateful tests"}
    bad = int(root.attrib.get("failures", "0")) + int(root.attrib.get("errors", "0"))
    return names, bad


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path_factory.mktemp("schemathesis")
    unshare = shutil.which("unshare") or "unshare"
    argv = [unshare, "--net", "--", sys.executable, "-m", "tests.hardening_api.st_netns", str(work)]
    result = subprocess.run(
        [*argv, str(MAX_EXAMPLES), str(SEED)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, work


def test_no_generated_request_breaks_the_documented_contract(
    fuzz_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, work = fuzz_run
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    streaming = {f"GET {path}" for path in STREAMING_PATHS}
    everything = documented_operations() - streaming - {SCHEMA_ITSELF}
    anonymous, anonymous_bad = operations_in(work / "anonymous.xml")
    admin, admin_bad = operations_in(work / "admin.xml")
    assert anonymous == everything
    assert admin == everything - {"POST /api/auth/logout"}
    assert anonymous_bad == admin_bad == 0


def test_the_server_logged_no_unexpected_error(
    fuzz_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """A bug in a background task answers no request with 500; it would show in the log instead."""
    _, work = fuzz_run
    log = (work / "server.log").read_text()
    for sign in ("unexpected error", "Task exception was never retrieved", "Unhandled exception"):
        assert sign not in log
    assert "server exit status 0" in fuzz_run[0].stdout  # and it stopped cleanly on SIGTERM
