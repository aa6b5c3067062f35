"""A throw-away PostgreSQL cluster from Debian's ``postgresql`` package: ``initdb`` in a temporary folder,
``postgres`` on 127.0.0.1 and a socket in that folder, trust authentication, stopped and removed at the
end. ``initdb`` refuses to run as root, so as root the cluster runs as ``nobody``."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

SUPERUSER = "audiofetch"


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (they are not on PATH in Debian: /usr/lib/postgresql/N/bin)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise AssertionError("PostgreSQL is not installed: ./run.sh test installs Debian's postgresql")
    return str(versions[-1] / name)


@dataclass(frozen=True)
class Cluster:
    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def _demote() -> dict[str, object]:
    """Popen arguments running the server as ``nobody`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="audiofetch-pg-"))
    data = folder / "data"
    demote = _demote()
    if demote:
        os.chown(folder, int(str(demote["user"])), int(str(demote["group"])))
    log = folder / "postgres.log"
    subprocess.run(
        [pg_bin("initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, cwd=folder, **demote,  # type: ignore[call-overload]
    )  # fmt: skip
    port = free_port()
    args = [
        pg_bin("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(folder),
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200",
    ]  # fmt: skip
    with log.open("ab") as out:
        server = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=folder, **demote)  # type: ignore[call-overload]
    try:
        for _ in range(600):
            ready = subprocess.run(
                [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None:
                raise AssertionError(f"postgres exited:\n{log.read_text()}")
            time.sleep(0.05)
        else:
            raise AssertionError(f"postgres did not come up:\n{log.read_text()}")
        yield Cluster(port, folder)
    finally:
        server.send_signal(signal.SIGINT)  # postgres's "fast" shutdown: SIGTERM would wait for clients
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
