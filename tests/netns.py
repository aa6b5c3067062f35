"""Whether tests can make a network namespace that has only ``lo`` (to prove no packet leaves)."""

from __future__ import annotations

import shutil
import subprocess


def unshare_refusal() -> str | None:
    """Why a network namespace with only ``lo`` cannot be made here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    try:
        probe = subprocess.run(
            ["unshare", "--net", "--", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return f"unshare --net is not permitted here: {probe.stderr.strip() or probe.returncode}"
    return None
