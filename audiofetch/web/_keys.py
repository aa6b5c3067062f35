"""Typed app-state keys for the server's services, and the runner interface the web layer codes against.

``services_ctx`` fills these at start-up; handlers read them with ``request.app[KEY]``. ``Runner`` and
``ZipStreamSource`` are Protocols so the HTTP layer depends on the shape of ``jobs.JobRunner``, not on
its module.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import web
from aiohttp_session import AbstractStorage

from audiofetch.config import Settings
from audiofetch.detect import GivenPage
from audiofetch.jobs import Broker, Job, JobSpec, JobStoreAPI
from audiofetch.models import Detection
from audiofetch.net import JobCookies
from audiofetch.web._auth import RevocationList
from audiofetch.web._secrets import AdminCredentials, KeyRing
from audiofetch.web._throttle import LoginThrottle
from audiofetch.zipstream import ZipEntry

__all__ = [
    "ADMIN_KEY",
    "BROKER_KEY",
    "CLOCK_KEY",
    "KEYRING_KEY",
    "LOGIN_THROTTLE_KEY",
    "OPTIONS_KEY",
    "REVOCATIONS_KEY",
    "RUNNER_KEY",
    "SESSION_COOKIE",
    "SESSION_STORAGE_KEY",
    "SETTINGS_KEY",
    "STORE_KEY",
    "Runner",
    "WebOptions",
    "ZipStreamSource",
    "wall_clock",
    "web_options",
]


class ZipStreamSource(Protocol):
    """A browser-mode job's archive, for one consumer: closing it stops the downloads."""

    @property
    def filename(self) -> str: ...

    @property
    def length(self) -> int | None: ...

    @property
    def entries(self) -> Iterable[ZipEntry] | AsyncIterable[ZipEntry]: ...

    async def stalled(self) -> None:
        """Return once the reader is too slow for too long (the response is then ended)."""
        ...

    async def close(self) -> None: ...


class Runner(Protocol):
    """What the HTTP layer needs from ``jobs.JobRunner`` (see its docstrings for the errors raised)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(
        self,
        spec: JobSpec,
        *,
        address: str | None = None,
        given: GivenPage | None = None,
        cookies: JobCookies | None = None,
    ) -> tuple[Job, bool]: ...

    async def analyse(self, job_id: str) -> Job: ...

    async def preview(
        self,
        url: str,
        *,
        plugin: str = "auto",
        prefer: Sequence[str] = (),
        render: str | None = None,
        client_id: str = "",
        address: str | None = None,
    ) -> Detection: ...

    def render_unavailable(self) -> str | None: ...

    def sent_cookie_domains(self, job_id: str) -> frozenset[str]: ...

    async def cancel(self, job_id: str) -> Job: ...

    async def retry_failed(self, job_id: str, *, address: str | None = None) -> Job: ...

    async def again(self, job_id: str, *, address: str | None = None) -> Job: ...

    async def busy_folders(self) -> frozenset[str]: ...

    async def delete(self, job_id: str) -> None: ...

    async def open_stream(self, job_id: str) -> ZipStreamSource: ...

    def downloads_dir(self) -> Path: ...


@dataclass(frozen=True, slots=True)
class WebOptions:
    """HTTP-layer knobs not (yet) in ``Settings``; tests shorten the heartbeats.

    ``cors_origins``: origins allowed to call the API cross-site (``AUDIOFETCH_CORS_ORIGINS``).
    ``heartbeat``: seconds between SSE comments and WebSocket pings. ``ws_max_msg_size``: the largest
    message a client may send on ``/ws`` (bytes). ``force_secure_cookie``: mark the session cookie
    Secure even on plain http (for a TLS-terminating proxy); it is always Secure on https.
    """

    cors_origins: tuple[str, ...] = ()
    heartbeat: float = 15.0
    ws_max_msg_size: int = 4096
    force_secure_cookie: bool = False


# The session cookie's name; the request is "cookie"-authenticated when it carries it.
SESSION_COOKIE = "AUDIOFETCH_SESSION"

SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
STORE_KEY: web.AppKey[JobStoreAPI] = web.AppKey("store")
BROKER_KEY: web.AppKey[Broker] = web.AppKey("broker", Broker)
RUNNER_KEY: web.AppKey[Runner] = web.AppKey("runner", Runner)
KEYRING_KEY: web.AppKey[KeyRing] = web.AppKey("keyring", KeyRing)
ADMIN_KEY: web.AppKey[AdminCredentials] = web.AppKey("admin", AdminCredentials)
REVOCATIONS_KEY: web.AppKey[RevocationList] = web.AppKey("revocations", RevocationList)
LOGIN_THROTTLE_KEY: web.AppKey[LoginThrottle] = web.AppKey("login_throttle", LoginThrottle)
SESSION_STORAGE_KEY: web.AppKey[AbstractStorage] = web.AppKey("session_storage", AbstractStorage)
OPTIONS_KEY: web.AppKey[WebOptions] = web.AppKey("web_options", WebOptions)
# Wall-clock seconds for token issue and expiry; replaced in tests to expire tokens without waiting.
CLOCK_KEY: web.AppKey[Callable[[], float]] = web.AppKey("clock")


def web_options(app: web.Application) -> WebOptions:
    """The app's ``WebOptions`` (defaults when none were set)."""
    return app.get(OPTIONS_KEY) or WebOptions()


def wall_clock(app: web.Application) -> float:
    """Now, in Unix seconds, from the app's clock (``time.time`` unless a test replaced it)."""
    clock = app.get(CLOCK_KEY)
    return clock() if clock is not None else time.time()
