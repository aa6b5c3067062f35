"""Run inside ``unshare --net --mount``: only ``lo`` exists, and /etc/hosts says private.test is 127.0.0.2.

Starts a listener on 127.0.0.2:PORT (TCP connections and UDP datagrams counted) standing for a private
host, a page server on 127.0.0.1 with the hostile page (every way a page may reach that host, by
address and by name, plus one real track), then the real CLI: ``inspect --render always --json`` with
``AUDIOFETCH_ALLOW_NETWORKS`` set to the argument. Prints one JSON object: exit code, output, what the
listener saw, the namespace's links.

Usage: python -m tests.render.netns_probe DATA_DIR ALLOW_NETWORKS
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.render.site import audio_bytes

PAGE = (Path(__file__).parent / "pages" / "hostile.html").read_text(encoding="utf-8")
HOSTS = "127.0.0.1 localhost\n127.0.0.2 private.test\n"


class Watch:
    """Counts TCP connections and UDP datagrams reaching 127.0.0.2:port."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.2", 0))
        self.port = int(self.tcp.getsockname()[1])
        self.tcp.listen(64)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.2", self.port))
        self.connections = 0
        self.datagrams = 0
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._receive, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def _receive(self) -> None:
        while True:
            try:
                self.udp.recvfrom(2048)
            except OSError:
                return
            self.datagrams += 1


def page_server(port: int) -> ThreadingHTTPServer:
    page = PAGE.replace("__PORT__", str(port)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/render/redirect?to="):
                from urllib.parse import unquote

                self.send_response(302)
                self.send_header("Location", unquote(self.path.partition("=")[2]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, kind = (
                (page, "text/html")
                if self.path == "/render/hostile.html"
                else (audio_bytes("real"), "audio/mpeg")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> int:
    data_dir, allow = argv
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = Path(tempfile.mkdtemp()) / "hosts"
    hosts.write_text(HOSTS)
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    links = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True, text=True).stdout
    watch = Watch()
    server = page_server(watch.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/render/hostile.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    env.update(AUDIOFETCH_DATA_DIR=data_dir, AUDIOFETCH_ALLOW_NETWORKS=allow, AUDIOFETCH_CONNECT_TIMEOUT="2")
    env.update(AUDIOFETCH_LOG_LEVEL="DEBUG")  # the proxy's refusals are debug lines
    command = [sys.executable, "-m", "audiofetch", "inspect", url, "--render", "always", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
    server.shutdown()
    record = {
        "page": url,
        "port": watch.port,
        "code": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "connections": watch.connections,
        "datagrams": watch.datagrams,
        "resolves": socket.gethostbyname("private.test"),
        "links": [line.split(":")[1].strip() for line in links.splitlines()],
    }
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
