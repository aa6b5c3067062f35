"""Run inside a fresh network namespace (``unshare --net``): only ``lo`` exists, so nothing can leave.

Brings ``lo`` up and, for each URL given, listens on 0.0.0.0:PORT and [::]:PORT (a free PORT of its own,
counting every connection accepted) and runs the real CLI (``python -m audiofetch inspect URL``); the
CLIs run side by side. Prints one JSON object per URL: exit code, stderr, stdout, connections seen.

Usage: python -m tests.hardening.netns_probe DATA_DIR URL [URL ...]   ("{port}" in a URL is its PORT;
a URL prefixed with "allow:" is run with --allow-network 127.0.0.0/8 as a control).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading


class Counter:
    """Accepts (and at once closes) connections on its sockets, counting them."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.count = 0
        self.sockets = sockets
        self.lock = threading.Lock()
        for sock in sockets:
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.count += 1
            conn.close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(16)
    return sock


def counter_on_a_free_port() -> tuple[int, Counter]:
    """Listeners on 0.0.0.0:PORT and [::]:PORT (every local address of the namespace), same PORT."""
    v4 = listen(socket.AF_INET, "0.0.0.0", 0)
    port = int(v4.getsockname()[1])
    return port, Counter([v4, listen(socket.AF_INET6, "::", port)])


def main(argv: list[str]) -> int:
    data_dir, urls = argv[0], argv[1:]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    links = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True, text=True).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    env.update(AUDIOFETCH_DATA_DIR=data_dir, AUDIOFETCH_CONNECT_TIMEOUT="2", AUDIOFETCH_READ_TIMEOUT="2")
    runs = []
    for raw in urls:  # each URL has its own listeners, so the CLIs can run side by side
        port, counter = counter_on_a_free_port()
        control = raw.startswith("allow:")
        url = raw.removeprefix("allow:").replace("{port}", str(port))
        extra = ["--allow-network", "127.0.0.0/8", "--allow-network", "::1/128"] if control else []
        command = [sys.executable, "-m", "audiofetch", "inspect", url, *extra]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        runs.append((url, control, counter, process))
    for url, control, counter, process in runs:
        stdout, stderr = process.communicate(timeout=60)
        with counter.lock:
            seen = counter.count
        counter.close()
        record = {
            "url": url,
            "control": control,
            "code": process.returncode,
            "stderr": stderr,
            "stdout": stdout,
            "connections": seen,
            "links": [line.split(":")[1].strip() for line in links.splitlines()],
        }
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
