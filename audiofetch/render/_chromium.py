"""How Chromium is started: Debian's binary, and the switches that leave it no way out but our proxy.

Each switch closes one path (see docs/security.md, "The render pass"):

- ``--proxy-server`` sends every HTTP(S) and WebSocket request to the egress proxy, and
  ``--proxy-bypass-list=<-loopback>`` removes Chromium's implicit bypass of localhost, 127/8, [::1] and
  link-local addresses (since Chromium 72 those would otherwise be connected to directly).
- ``--host-resolver-rules`` answers "not found" for every name except the proxy's address, so Chromium
  resolves nothing itself (no DNS prefetch, no preconnect, no DNS-over-HTTPS of its own).
- ``--force-webrtc-ip-handling-policy=disable_non_proxied_udp`` keeps WebRTC to proxied connections.
- QUIC, background networking, component updates, sync, domain reliability, pings, field trials and
  metrics are off; service workers, downloads and new windows are refused per context (``_renderer``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Final

__all__ = ["CHROMIUM", "chromium_args", "render_unavailable"]

CHROMIUM: Final = Path("/usr/bin/chromium")  # Debian's package; never a browser Playwright downloads


# Chromium keeps only the last --disable-features, and ours comes after Playwright's: so this list also
# repeats the features Playwright turns off (1.65), besides the network ones we want off.
_DISABLED_FEATURES: Final = (
    "DnsOverHttps",
    "NetworkPrediction",
    "PreconnectToSearch",
    "InterestFeedContentSuggestions",
    "OptimizationHints",
    "MediaRouter",
    "Translate",
    "AutofillServerCommunication",
    "CertificateTransparencyComponentUpdater",
    "NetworkTimeServiceQuerying",
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "AimEnabled",
)


def render_unavailable(executable: Path = CHROMIUM) -> str | None:
    """Why the render pass cannot run here (one line saying how to fix it), or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install playwright)"
    if (
        not (executable.is_file() and os.access(executable, os.X_OK))
        and shutil.which(str(executable)) is None
    ):
        return f"Chromium is not installed at {executable} (apt-get install chromium)"
    return None


def chromium_args(proxy_server: str, proxy_host: str = "127.0.0.1") -> list[str]:
    """The command-line switches for a headless Chromium whose only network path is ``proxy_server``."""
    args = [
        f"--proxy-server={proxy_server}",
        "--proxy-bypass-list=<-loopback>",
        f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {proxy_host}",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--metrics-recording-only",
        "--no-pings",
        "--no-first-run",
        "--no-default-browser-check",
        "--dns-prefetch-disable",
        "--disable-features=" + ",".join(_DISABLED_FEATURES),
        "--block-new-web-contents",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
        "--disable-gpu",
        "--js-flags=--max-old-space-size=512",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return args
