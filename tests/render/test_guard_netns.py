"""The render pass cannot reach a private host, inside a network namespace that has only ``lo``.

The real CLI renders a page (``--render always``) that tries 127.0.0.2 (standing for a private host)
and private.test (a name /etc/hosts points there) by ``<img>``, ``fetch`` (http and https), an
``Audio`` element, ``<iframe>``, ``<link rel=prefetch>``/preconnect/dns-prefetch, ``sendBeacon``, a
WebSocket, WebRTC (STUN over UDP) and a same-site redirect. With ``AUDIOFETCH_ALLOW_NETWORKS`` at
127.0.0.1/32 the real track is listed and the listener sees no connection and no datagram at all; the
control run, which allows 127.0.0.0/8, shows the listener does see the browser's connections.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.netns import unshare_refusal
from tests.render.conftest import needs_chromium

REPO = Path(__file__).resolve().parents[2]
REFUSAL = unshare_refusal()
pytestmark = [needs_chromium, pytest.mark.skipif(REFUSAL is not None, reason=REFUSAL or "")]


def probe(data_dir: Path, allow: str) -> dict[str, Any]:
    result = subprocess.run(
        ["unshare", "--net", "--mount", "--", sys.executable, "-m", "tests.render.netns_probe",
         str(data_dir), allow],
        cwd=REPO, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return record


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return probe(tmp_path_factory.mktemp("guarded") / "data", "127.0.0.1/32")


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return probe(tmp_path_factory.mktemp("control") / "data", "127.0.0.0/8")


def test_the_namespace_has_only_loopback_and_the_name_points_at_the_private_host(
    guarded: dict[str, Any],
) -> None:
    assert guarded["links"] == ["lo"]
    assert guarded["resolves"] == "127.0.0.2"


def test_render_lists_the_real_track_and_the_private_host_sees_nothing(guarded: dict[str, Any]) -> None:
    assert guarded["code"] == 0, guarded["stderr"]
    tracks = json.loads(guarded["stdout"])["tracks"]
    page = guarded["page"].rsplit("/render/", 1)[0]
    assert [(t["url"], t["title"]) for t in tracks] == [(f"{page}/render/real.mp3", "The real track")]
    assert guarded["connections"] == 0
    assert guarded["datagrams"] == 0
    # The attempts did happen, and the proxy refused them: by address and by name, plain and tunnelled.
    refusals = [
        line for line in guarded["stderr"].splitlines() if "render proxy refused a request (403)" in line
    ]
    for path in ("/img.png", "/frame", "/prefetch", "/fetch", "/beacon", "/redirected"):
        assert any(f"127.0.0.2:{guarded['port']}{path}:" in line for line in refusals), (
            path,
            guarded["stderr"],
        )
    by_name = [line for line in refusals if f"private.test:{guarded['port']}: 127.0.0.2" in line]
    assert len(by_name) >= 6  # the same attempts by name: refused on the address the name resolved to
    assert len(refusals) >= 14  # and the https and WebSocket tunnels (CONNECT) to both


def test_control_the_listener_sees_the_browser_when_the_guard_allows_it(control: dict[str, Any]) -> None:
    assert control["code"] == 0, control["stderr"]
    assert control["connections"] >= 1
