"""Exit codes and error lines of the real CLI: one line on stderr, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import ALLOW, run_cli
from tests.cli.site_server import Site, album_page, payload
from tests.conftest import free_port


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("audiofetch: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("command", ["get", "inspect"])
@pytest.mark.parametrize("url", ["ftp://x", "not a url", "http://", "file:///etc/passwd", ""])
def test_an_address_that_is_not_http_is_bad_input(command: str, url: str, tmp_path: Path) -> None:
    result = run_cli(command, url, *ALLOW, cwd=tmp_path)
    assert_one_line(result, 2, "is not a web address")
    assert list(tmp_path.iterdir()) == []  # nothing created, not even the data folder


@pytest.mark.parametrize("command", ["get", "inspect"])
def test_loopback_is_refused_without_allow_network_and_never_contacted(
    command: str, site: Site, tmp_path: Path
) -> None:
    page = site.page("/album", album_page("A", [("One", site.url("/one.mp3"))]))
    result = run_cli(command, page, cwd=tmp_path)

    assert_one_line(result, 2, "refused")
    assert site.seen == []


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (("--workers", "0"), "--workers"),
        (("--workers", "21"), "--workers"),
        (("--workers", "many"), "--workers"),
        (("--allow-network", "not-a-cidr"), "not-a-cidr"),
        (("--plugin", "no-such-player"), "unknown plugin 'no-such-player'"),
    ],
)
def test_a_bad_option_is_bad_input_and_nothing_is_fetched(
    options: tuple[str, ...], needle: str, site: Site, tmp_path: Path
) -> None:
    site.file("/one.mp3", payload(1, 5_000))
    page = site.page("/album", album_page("A", [("One", site.url("/one.mp3"))]))
    result = run_cli("get", page, *ALLOW, *options, cwd=tmp_path)

    assert_one_line(result, 2, needle)
    assert site.seen == []


def test_an_unknown_option_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("get", "http://127.0.0.1/", "--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["get", "inspect"])
def test_a_page_without_audio_exits_3_saying_what_was_looked_for(
    command: str, site: Site, tmp_path: Path
) -> None:
    page = site.page("/about", "<!DOCTYPE html><html><head><title>About</title></head><body>Hi</body></html>")
    result = run_cli(command, page, *ALLOW, "--render", "never", cwd=tmp_path)  # read once, statically

    line = assert_one_line(result, 3, "no audio found on this page", "looked for:")
    assert "<audio>" in line and "links to audio files" in line
    assert [path for path, _ in site.seen] == ["/about"]


@pytest.mark.parametrize("command", ["get", "inspect"])
def test_a_page_that_is_not_there_exits_4(command: str, site: Site, tmp_path: Path) -> None:
    result = run_cli(command, site.url("/gone.html"), *ALLOW, cwd=tmp_path)
    assert_one_line(result, 4, "404")


@pytest.mark.parametrize("command", ["get", "inspect"])
def test_a_refused_connection_exits_4(command: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/album.html"  # nothing listens there
    assert_one_line(run_cli(command, url, *ALLOW, cwd=tmp_path), 4, "could not connect")


def test_get_into_an_output_path_that_is_a_file_fails_cleanly(site: Site, tmp_path: Path) -> None:
    site.file("/one.mp3", payload(1, 5_000))
    page = site.page("/album", album_page("A", [("One", site.url("/one.mp3"))]))
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run_cli("get", page, "--out", "taken", *ALLOW, cwd=tmp_path)

    assert_one_line(result, 1, "cannot create the folder taken")


CRASHING_EXTRACTOR = """
import sys
from audiofetch.cli import main
from audiofetch.extractors.html5_audio import Html5AudioExtractor

def extract(self, page):
    raise RuntimeError("an extractor bug")

Html5AudioExtractor.extract = extract  # fault injection: one extractor crashes on every page
raise SystemExit(main(sys.argv[1:]))
"""


def run_with_crashing_extractor(tmp_path: Path, *args: str, level: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    env["AUDIOFETCH_LOG_LEVEL"] = level
    command = [sys.executable, "-c", CRASHING_EXTRACTOR, *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_a_crashing_extractor_is_logged_as_one_line_without_traceback(site: Site, tmp_path: Path) -> None:
    site.file("/one.mp3", payload(1, 5_000))
    html = album_page("A", [("One", site.url("/one.mp3"))]).replace(
        "</body>", f'<a href="{site.url("/one.mp3")}">One</a></body>'
    )
    page = site.page("/album", html)

    quiet = run_with_crashing_extractor(tmp_path, "inspect", page, *ALLOW, level="INFO")
    assert quiet.returncode == 0, quiet.stderr
    assert "1 tracks" in quiet.stdout  # the links extractor still found the track
    assert quiet.stderr.splitlines() == [f"audiofetch: warning: extractor html5_audio failed on {page}"]

    verbose = run_with_crashing_extractor(tmp_path, "inspect", page, *ALLOW, level="DEBUG")
    assert verbose.returncode == 0
    assert "Traceback" in verbose.stderr and "RuntimeError: an extractor bug" in verbose.stderr
