"""The code gates run as tests, so `./run.sh test` and CI enforce them identically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_mypy_strict_passes_on_the_package() -> None:
    result = run(str(BIN / "mypy"), "--config-file", "setup.cfg")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_the_tests() -> None:
    """The tests too, with the ``[mypy-tests.*]`` settings of setup.cfg: every body checked, fixtures'
    parameters may go unannotated."""
    result = run(str(BIN / "mypy"), "--config-file", "setup.cfg", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_and_format_are_clean() -> None:
    paths = ["audiofetch", "tests", "bench"]
    lint = run(str(BIN / "ruff"), "check", "--config", ".ci/ruff.toml", *paths)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run(str(BIN / "ruff"), "format", "--check", "--config", ".ci/ruff.toml", *paths)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_import_layers_hold() -> None:
    result = run(str(BIN / "lint-imports"), "--config", "setup.cfg")
    assert result.returncode == 0, result.stdout + result.stderr
