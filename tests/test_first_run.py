"""The README's two commands as a new user runs them: a fresh copy of the checkout, started from elsewhere.

Real processes only: ``run.sh`` (bash), the server it starts, ``curl -OJ`` and the CLI. The copy holds
what a clone of this working tree holds (``git ls-files``); it reuses this checkout's virtual environment
through ``VENV`` (documented in run.sh), whose install record matches the copy's setup.cfg, so nothing
is downloaded and the copy's own code runs (run.sh puts its checkout first on the path).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import site  # noqa: F401  (fixture)
from tests.cli.site_server import MAGIC, Site, album_page, payload

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BANNER = "It is shown only this once"
KINDS = ("ogg", "flac", "wav")  # not MP3: streamed ZIPs tag only MP3s, so these arrive byte for byte


def _checkout_files() -> list[str]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: nothing to clone")
    return [name for name in listing.decode().split("\0") if name and (ROOT / name).is_file()]


def _venv_matches() -> bool:
    """True when VENV was installed from this setup.cfg/setup.py (run.sh would then install nothing)."""
    import hashlib

    record = VENV / ".installed"
    if not record.is_file():
        return False
    wanted = hashlib.sha256((ROOT / "setup.cfg").read_bytes() + (ROOT / "setup.py").read_bytes()).hexdigest()
    return record.read_text().split(" ")[0].strip() == wanted


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if not _venv_matches():
        pytest.skip("the venv was not installed from this setup.cfg: run through ./run.sh test")
    target = tmp_path / "clone"
    for name in _checkout_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    assert not (target / ".venv").exists() and not (target / "data").exists()
    return target


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_") and k != "PYTHONPATH"}
    env.pop("ADMIN_PASSWORD", None)
    env.update(VENV=str(VENV), AUDIOFETCH_ALLOW_NETWORKS="127.0.0.0/8", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_until(proc: subprocess.Popen[bytes], marker: str, limit: float = 60) -> list[str]:
    """Lines of ``proc``'s stdout up to and including the first containing ``marker``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    text = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker.encode() not in text or not text.endswith(b"\n"):
            if not selector.select(limit):
                raise AssertionError(f"no {marker!r} line; got {text!r}")
            piece = os.read(fd, 65536)
            if not piece:
                raise AssertionError(f"the server ended before {marker!r}: {text!r}")
            text += piece
    return text.decode().splitlines()


def _start(clone: Path, cwd: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    log = open(cwd / f"server-{len(list(cwd.glob('server-*')))}.log", "wb")  # noqa: SIM115
    with log:
        return subprocess.Popen(
            [str(clone / "run.sh"), *args], cwd=cwd, env=_env(**env), stdout=subprocess.PIPE, stderr=log
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.fixture
def album(site: Site) -> tuple[str, dict[str, bytes]]:  # noqa: F811
    files: dict[str, bytes] = {}
    entries = []
    for n, kind in enumerate(KINDS, start=1):
        data = payload(n, 30_000 + 101 * n, MAGIC[kind])
        entries.append((f"Song {n}", site.file(f"/media/{n}.{kind}", data, content_type=f"audio/{kind}")))
        files[f"{n:02d} - Song {n}.{kind}"] = data
    return site.page("/album", album_page("First Album", entries)), files


def _audio_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {n: archive.read(n) for n in archive.namelist() if not n.endswith(".m3u8")}


@pytest.fixture
def server(clone: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = _free_port()
    proc = _start(clone, elsewhere, PORT=str(port))
    try:
        yield proc, port, elsewhere
    finally:
        _stop(proc)


def test_bare_run_sh_serves_and_curl_gets_the_album_zip(
    server: tuple[subprocess.Popen[bytes], int, Path], clone: Path, album: tuple[str, dict[str, bytes]]
) -> None:
    proc, port, elsewhere = server
    lines = _read_until(proc, "is listening on")
    # The banner comes once, before the last line, which says where to go.
    assert lines[-1] == f"AudioFetch is listening on http://127.0.0.1:{port}"
    assert sum(BANNER in line for line in lines) == 1
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
        assert response.status == 200

    page, files = album
    downloads = elsewhere / "downloads"
    downloads.mkdir()
    curl = subprocess.run(
        ["curl", "-sS", "-OJ", "-D", "headers.txt", f"http://127.0.0.1:{port}/zip?url={page}"],
        cwd=downloads, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert curl.returncode == 0, curl.stderr
    saved = downloads / "First Album.zip"
    assert sorted(p.name for p in downloads.iterdir()) == ["First Album.zip", "headers.txt"]
    headers = (downloads / "headers.txt").read_text().lower()
    if "content-length:" in headers:
        length = int(headers.split("content-length:")[1].split()[0])
        assert saved.stat().st_size == length
    assert _audio_entries(saved) == files
    assert (clone / "data" / "admin.json").is_file()  # the server's data stay in its checkout


def test_a_second_start_shows_no_banner(clone: Path, tmp_path: Path) -> None:
    port = _free_port()
    for start in range(2):
        proc = _start(clone, tmp_path, "serve", "--port", str(port))
        try:
            lines = _read_until(proc, "is listening on")
        finally:
            _stop(proc)
        assert sum(BANNER in line for line in lines) == (1 if start == 0 else 0)


def test_a_port_in_use_is_one_clear_line_and_generates_no_password(clone: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(clone / "run.sh")], cwd=tmp_path, env=_env(PORT=str(port)),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"audiofetch: port {port} is already in use on 127.0.0.1: stop the program using it, "
        "or set PORT (or --port) to another port"
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert BANNER not in result.stdout
    assert not (clone / "data" / "admin.json").exists()


def test_run_sh_cli_writes_where_it_is_called_from(
    clone: Path, tmp_path: Path, album: tuple[str, dict[str, bytes]]
) -> None:
    page, files = album
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["get", page, "My album", "--zip"], ["get", page], ["get", page, "--out", "music"]):
        result = subprocess.run(
            [str(clone / "run.sh"), "cli", *args], cwd=elsewhere, env=_env(),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["First Album", "My album.zip", "music"]
    assert _audio_entries(elsewhere / "My album.zip") == files
    for folder in (elsewhere / "First Album", elsewhere / "music" / "First Album"):
        # A folder's files are tagged once saved, so only their names are compared.
        assert sorted(p.name for p in folder.iterdir() if p.suffix != ".m3u8") == sorted(files)
    assert not list(clone.glob("*.zip")) and not (clone / "First Album").exists()
