"""Shared fixtures: settings that allow only loopback targets, the app and its ``client``; a free-port helper.

A test module changes what ``client`` talks to by overriding ``app`` (or ``settings``), never ``client``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from audiofetch.config import Settings, parse_networks
from tests.web.apikit import admin_settings, build_app

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


@pytest.fixture
def app(settings: Settings) -> web.Application:
    """The real application with the HTTP layer, ``settings`` plus the test admin password."""
    return build_app(admin_settings(settings))


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, app: web.Application
) -> TestClient[web.Request, web.Application]:
    """A test client of ``app`` on a real socket, keeping its cookies like a browser."""
    return await aiohttp_client(app)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on the loopback address ``host`` that was free a moment ago."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
