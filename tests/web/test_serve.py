"""``web._serve``: the listening line, and binding before anything starts (a port in use is one line)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from audiofetch.config import Settings
from audiofetch.errors import ConfigError
from audiofetch.web._serve import bind_sockets, listening_line


def test_the_listening_line_names_the_address_port_and_sub_path() -> None:
    settings = Settings()
    assert listening_line(settings, 8080) == "AudioFetch is listening on http://127.0.0.1:8080"
    assert listening_line(replace(settings, base_path="/audiofetch"), 9000) == (
        "AudioFetch is listening on http://127.0.0.1:9000/audiofetch"
    )
    assert (
        listening_line(replace(settings, host="::1"), 8080) == "AudioFetch is listening on http://[::1]:8080"
    )


def test_bind_sockets_listens_and_a_taken_port_is_a_config_error() -> None:
    sockets = bind_sockets("127.0.0.1", 0)
    try:
        port = sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it accepts connections before any service started
        with pytest.raises(ConfigError, match=f"port {port} is already in use on 127.0.0.1.*set PORT"):
            bind_sockets("127.0.0.1", port)
    finally:
        for sock in sockets:
            sock.close()
