"""Shared fixtures: settings that allow only loopback targets, and a free-port helper."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from audiofetch.config import Settings, parse_networks

LOOPBACK_ONLY = parse_networks("127.0.0.0/8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: data in a temp folder, 127.0.0.0/8 explicitly allowed, short timeouts, and
    the render pass off (its own tests, under tests/render/, turn it on)."""
    return Settings(
        data_dir=tmp_path / "data",
        allow_networks=LOOPBACK_ONLY,
        connect_timeout=5.0,
        read_timeout=5.0,
        file_deadline=60.0,
        render="never",
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on the loopback address ``host`` that was free a moment ago."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
