"""``audiofetch serve``: bind the port first, start the services, then say where the server listens.

The listening sockets are bound before anything else runs, so a port in use is one clear error and no
admin password is generated for a server that never starts. The one-time password banner and the
``AudioFetch is listening on ...`` line are printed only once the server answers, the banner first,
so the last line of a start is always where to go.
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Callable
from typing import TextIO

from aiohttp import web

from audiofetch.config import Settings
from audiofetch.errors import ConfigError
from audiofetch.web._keys import ADMIN_KEY
from audiofetch.web._secrets import AdminCredentials

__all__ = ["bind_sockets", "listening_line", "password_banner", "run_server"]


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to; a port in use raises ``ConfigError``."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc.strerror}; set HOST (or --host)") from exc
    sockets: list[socket.socket] = []
    seen: set[tuple[object, ...]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, *address[:2]) in seen:
                continue
            seen.add((family, *address[:2]))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is already in use on {host or 'every address'}: stop the program using it, "
                "or set PORT (or --port) to another port"
            ) from exc
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sockets


def listening_line(settings: Settings, port: int) -> str:
    """``AudioFetch is listening on http://127.0.0.1:8080`` (with the sub-path when one is set)."""
    host = settings.host or "0.0.0.0"
    if ":" in host:
        host = f"[{host}]"
    return f"AudioFetch is listening on http://{host}:{port}{settings.base_path}"


def password_banner(credentials: AdminCredentials) -> str | None:
    """The one-time banner for a password generated at this start; ``None`` otherwise."""
    if credentials.generated_password is None:
        return None
    bar = "=" * 64
    return (
        f"{bar}\nNo ADMIN_PASSWORD was set, so one was generated. It is shown only this once:\n\n"
        f"    {credentials.generated_password}\n\n"
        f"Only its hash is kept. Set ADMIN_PASSWORD, or delete admin.json to get a new one.\n{bar}"
    )


def run_server(
    settings: Settings,
    app: web.Application,
    inner: web.Application,
    *,
    out: TextIO | None = None,
) -> None:
    """Serve ``app`` (``inner`` is the application holding the services) until SIGINT or SIGTERM."""
    stream = out or sys.stdout
    sockets = bind_sockets(settings.host, settings.port)
    port = sockets[0].getsockname()[1]

    def started(*_: object, **__: object) -> None:
        banner = password_banner(inner[ADMIN_KEY]) if ADMIN_KEY in inner else None
        if banner is not None:
            print(banner, file=stream)
        print(listening_line(settings, port), file=stream, flush=True)

    announce: Callable[..., None] = started
    # run_app calls ``print`` once every site is started: the moment the server answers.
    web.run_app(app, sock=sockets, print=announce)
