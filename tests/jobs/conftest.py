"""A real job store on a SQLite file in the test's temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from audiofetch.jobs import JobStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "jobs.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[JobStore]:
    opened = await JobStore.open(db_path)
    yield opened
    await opened.close()
