"""Shared fixtures: settings that allow only loopback targets, and a free-port helper."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from audiofetch.config import Settings, parse_networks

LOOPBACK_ONLY = parse_networks("127.0.0.0/8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: data in a temp folder, 127.0.0.0/8 explicitly allowed, short timeouts."""
    return Settings(
        data_dir=tmp_path / "data",
        allow_networks=LOOPBACK_ONLY,
        connect_timeout=5.0,
        read_timeout=5.0,
        file_deadline=60.0,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
