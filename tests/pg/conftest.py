"""One real PostgreSQL cluster for the session; each test gets a database of its own in it."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator

import pytest

from tests.pg.cluster import SUPERUSER, Cluster, pg_bin, running_cluster

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with running_cluster() as cluster:
        yield cluster


def psql(cluster: Cluster, command: str) -> None:
    subprocess.run(
        [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", SUPERUSER, "-d", "postgres",
         "-v", "ON_ERROR_STOP=1", "-q", "-c", command],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database's address, dropped after the test."""
    name = f"t{next(_numbers)}"
    psql(pg_cluster, f"CREATE DATABASE {name}")
    yield pg_cluster.url(name)
    psql(pg_cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
