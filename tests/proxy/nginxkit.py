"""A real nginx (TLS, docs/deploy.md's own ``map`` and ``location`` blocks) in front of a real
``audiofetch serve`` under ``/audiofetch`` that trusts it; all on 127.0.0.1, with a certificate made here.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import re
import shutil
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.hardening_api.serverproc import ADMIN_PASSWORD, process, wait_until_up
from tests.proxy.conftest import PREFIX

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DOC_UPSTREAM = "127.0.0.1:8080"


# -- the nginx configuration, taken from docs/deploy.md -----------------------------------------------------


def _blocks(text: str, opening: str) -> list[str]:
    """Every ``opening ... { ... }`` block of ``text`` (braces balanced), in order."""
    found = []
    for match in re.finditer(rf"^[ \t]*{re.escape(opening)}[^{{\n]*\{{", text, re.MULTILINE):
        depth, index = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
            if depth == 0:
                break
        found.append(text[match.start() : index])
    return found


def documented_nginx() -> tuple[list[str], list[str]]:
    """The ``map`` and ``location`` blocks of the nginx example in docs/deploy.md."""
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    example = re.search(r"```nginx\n(.*?)```", doc, re.DOTALL)
    assert example, "docs/deploy.md has no nginx example"
    maps, locations = _blocks(example.group(1), "map"), _blocks(example.group(1), "location")
    assert maps and len(locations) == 2, "the nginx example should hold one map and two location blocks"
    assert all(DOC_UPSTREAM in block for block in locations[1:])
    return maps, locations


def nginx_conf(work: Path, port: int, upstream_port: int, cert: Path, key: Path) -> str:
    maps, locations = documented_nginx()
    body = "\n".join(block.replace(DOC_UPSTREAM, f"127.0.0.1:{upstream_port}") for block in locations)
    temp = "\n".join(
        f"    {kind}_temp_path {work / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the test's private folder
    return f"""{user}worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    access_log {work / "access.log"};
{temp}
{chr(10).join(maps)}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name 127.0.0.1;
        ssl_certificate {cert};
        ssl_certificate_key {key};
{body}
    }}
}}
"""


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, written to ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# -- the processes -------------------------------------------------------------------------------------


@asynccontextmanager
async def proxied_audiofetch(work: Path) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """nginx (TLS) on a free port in front of ``audiofetch serve``; yields (public base URL, client TLS)."""
    app_port, proxy_port = free_port(), free_port()
    cert, key = self_signed(work)
    tls = ssl.create_default_context(cafile=str(cert))
    conf = work / "nginx.conf"
    conf.write_text(nginx_conf(work, proxy_port, app_port, cert, key), encoding="utf-8")
    env = {
        **os.environ,
        "AUDIOFETCH_DATA_DIR": str(work / "data"),
        "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "AUDIOFETCH_BASE_PATH": PREFIX,
        "AUDIOFETCH_TRUSTED_PROXIES": "127.0.0.1",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    serve = [sys.executable, "-m", "audiofetch", "serve", "--host", "127.0.0.1", "--port", str(app_port)]
    nginx = [NGINX, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log"), "-g", "daemon off;"]
    public = f"https://127.0.0.1:{proxy_port}"
    with process(serve, work / "audiofetch.log", env) as app, process(nginx, work / "nginx.log") as proxy:
        await asyncio.to_thread(wait_until_up, f"http://127.0.0.1:{app_port}", app, work / "audiofetch.log")
        await asyncio.to_thread(wait_until_up, f"{public}{PREFIX}", proxy, work / "error.log", tls=tls)
        yield public, tls
