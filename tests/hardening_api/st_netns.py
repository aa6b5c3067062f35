"""Run inside ``unshare --net``: bring ``lo`` up, start ``audiofetch serve``, fuzz it with schemathesis.

``python -m tests.hardening_api.st_netns WORK_DIR MAX_EXAMPLES SEED``. The namespace holds only ``lo``,
so no URL schemathesis invents can reach anything, whatever the guard decides; the allow-list is empty
as in production. Two passes over the OpenAPI document: anonymous (every operation) and as the admin
with a bearer token (every operation but logout, which would revoke the token mid-run). Each pass
writes a JUnit report (``WORK_DIR/<pass>.xml``). Exit status: the worst schemathesis status, or 3 when
the namespace is not isolated. The server log is ``WORK_DIR/server.log``.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.hardening_api.serverproc import admin_token, server_env, start_server, wait_until_up

# Schemathesis's own checks for "no 500, responses match the document, statuses documented".
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# /api/events answers an endless text/event-stream: a client that reads to the end never returns.
# Its query parameters and 400/403 answers are tested in tests/web/test_live_functional.py.
STREAMING_PATHS = ("/api/events",)
# 502 is the documented answer when a page cannot be fetched, which in a namespace without a network is
# every page; a bug is a 500 (the error middleware's answer to any unexpected exception).
CONFIG = """\
[checks.not_a_server_error]
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "502"]
"""


def isolated() -> bool:
    """True when the only network interface is ``lo`` (so nothing can leave this namespace)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def schemathesis(
    base: str,
    report: Path,
    max_examples: int,
    seed: int,
    *,
    headers: dict[str, str],
    excluded: tuple[str, ...],
) -> int:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    config = report.with_suffix(".toml")
    config.write_text(CONFIG)
    argv = [
        st,
        "--config-file",
        str(config),
        "run",
        f"{base}/api/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        # One worker: CPython 3.11 before 3.11.8 can fail ast.parse in concurrent threads (gh-106905),
        # which hypothesis calls to describe filters; the failure would be reported as an error.
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--output-truncate",
        "false",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    for path in excluded:
        argv += ["--exclude-path", path]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    print("$", " ".join("'Authorization: Bearer ...'" if "Bearer" in part else part for part in argv))
    sys.stdout.flush()
    # In the work folder: schemathesis keeps its replay cache (.schemathesis/) in the current directory.
    return int(subprocess.run(argv, cwd=report.parent, check=False, timeout=600).returncode)


def main() -> int:
    work, max_examples, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    if not isolated():
        print(f"not isolated: interfaces {socket.if_nameindex()}")
        return 3
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "server.log"
    proc = start_server(server_env(work / "data", port, allow_networks=""), log)
    try:
        wait_until_up(base, proc, log)
        anonymous = schemathesis(
            base, work / "anonymous.xml", max_examples, seed, headers={}, excluded=STREAMING_PATHS
        )
        token = admin_token(base)
        admin = schemathesis(
            base,
            work / "admin.xml",
            max_examples,
            seed,
            headers={"Authorization": f"Bearer {token}"},
            excluded=(*STREAMING_PATHS, "/api/auth/logout"),
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=30)
    print(f"server exit status {status}")
    return max(anonymous, admin, abs(status))


if __name__ == "__main__":
    raise SystemExit(main())
