"""``audiofetch get`` as a real child process against a local site: folders, ZIPs, partial failures."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from audiofetch.naming import sanitize_name
from tests.cli.conftest import ALLOW, run_cli
from tests.cli.site_server import MAGIC, Site, album_page, payload, sha256
from tests.zipcheck import python_reads, unzip_tests

KINDS = ("mp3", "ogg", "flac", "wav", "m4a")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "pages"


def publish_album(site: Site, count: int, *, missing: tuple[int, ...] = ()) -> tuple[str, dict[str, bytes]]:
    """An album page of ``count`` tracks whose URLs all say .mp3 (and the server audio/mpeg) whatever
    the real format is; returns the page URL and the expected ``NN - Title.ext`` -> bytes, in order."""
    expected: dict[str, bytes] = {}
    entries = []
    for n in range(1, count + 1):
        kind = KINDS[n % len(KINDS)]
        data = payload(n, 20_000 + 997 * n, MAGIC[kind])
        url = site.url(f"/media/track-{n}.mp3")
        if n not in missing:
            site.file(f"/media/track-{n}.mp3", data)
            expected[f"{n:02d} - Song {n}.{kind}"] = data
        entries.append((f"Song {n}", url))
    return site.page("/album", album_page("Live/Studio: Sessions..", entries)), expected


PLAYLIST = "00 - Live-Studio - Sessions.m3u8"


def folder_contents(folder: Path) -> dict[str, str]:
    """The audio files and their hashes (the playlist is checked on its own, in tests/tags)."""
    return {
        path.name: sha256(path.read_bytes()) for path in sorted(folder.iterdir()) if path.suffix != ".m3u8"
    }


def test_get_downloads_every_track_into_a_folder_named_after_the_page(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 24)
    result = run_cli("get", page, "--out", "out", "--workers", "4", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["Live-Studio - Sessions"]
    folder = tmp_path / "out" / "Live-Studio - Sessions"
    assert folder_contents(folder) == {name: sha256(data) for name, data in expected.items()}
    assert sorted(folder_contents(folder)) == list(expected)  # zero-padded: sorting keeps page order
    assert (folder / PLAYLIST).read_text(encoding="utf-8").count("#EXTINF:") == 24
    # Not a terminal: one plain line per track, no carriage returns, a summary at the end.
    assert "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert sorted(line for line in lines if line.startswith("ok     ")) == sorted(
        f"ok     {name} ({len(data) / 1024:.1f} KiB)" for name, data in expected.items()
    )
    assert lines[-1].startswith("done: 24 of 24 tracks")
    assert result.stdout == ""


def test_get_uses_the_name_argument_for_the_folder(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 3)
    result = run_cli("get", page, "../My: Mix", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    # The name is sanitised like any file name: it cannot climb out of the output folder.
    assert [p.name for p in tmp_path.iterdir()] == ["-My - Mix"] == [sanitize_name("../My: Mix")]
    assert folder_contents(tmp_path / "-My - Mix") == {name: sha256(data) for name, data in expected.items()}


def test_get_zip_writes_one_archive_equal_to_upstream(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 21)
    result = run_cli("get", page, "--zip", "--out", "out", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    archive = tmp_path / "out" / "Live-Studio - Sessions.zip"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [archive.name]  # no .part, no spool folder
    infos = python_reads(archive)
    assert [info.filename for info in infos] == [*expected, PLAYLIST]
    with zipfile.ZipFile(archive) as opened:
        assert all(opened.read(name) == data for name, data in expected.items())
    unzip_tests(archive)
    assert "\r" not in result.stderr
    assert sum(line.startswith("ok     ") for line in result.stderr.splitlines()) == 21


def test_get_zip_never_replaces_an_existing_archive(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "Live-Studio - Sessions.zip").write_bytes(b"mine, keep it")
    result = run_cli("get", page, "--zip", "--out", "out", *ALLOW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "Live-Studio - Sessions.zip").read_bytes() == b"mine, keep it"
    with zipfile.ZipFile(out / "Live-Studio - Sessions (2).zip") as opened:
        assert all(opened.read(name) == data for name, data in expected.items())


def test_get_reports_a_missing_track_and_keeps_the_others(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 6, missing=(3,))
    result = run_cli("get", page, "--out", "out", *ALLOW, cwd=tmp_path)

    assert result.returncode == 1
    folder = tmp_path / "out" / "Live-Studio - Sessions"
    assert folder_contents(folder) == {name: sha256(data) for name, data in expected.items()}
    assert "Traceback" not in result.stderr
    assert "audiofetch: 1 failed (5 of 6 tracks" in result.stderr
    listed = [line for line in result.stderr.splitlines() if line.startswith("  track 3 failed:")]
    assert len(listed) == 1 and "404" in listed[0] and "/media/track-3.mp3" in listed[0]


def test_get_zip_lists_a_missing_track_in_errors_txt(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 6, missing=(3,))
    result = run_cli("get", page, "--zip", "--out", "out", *ALLOW, cwd=tmp_path)

    assert result.returncode == 1
    assert "  track 3 failed:" in result.stderr and "Traceback" not in result.stderr
    archive = tmp_path / "out" / "Live-Studio - Sessions.zip"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [archive.name]
    with zipfile.ZipFile(archive) as opened:
        assert opened.testzip() is None
        assert opened.namelist() == [*expected, PLAYLIST, "ERRORS.txt"]
        for name, data in expected.items():
            assert opened.read(name) == data
        errors = opened.read("ERRORS.txt").decode()
    assert "03 - Song 3." in errors and "404" in errors
    unzip_tests(archive)


def test_get_zip_writes_nothing_when_every_track_fails(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 3, missing=(1, 2, 3))
    assert expected == {}
    result = run_cli("get", page, "--zip", "--out", "out", *ALLOW, cwd=tmp_path)

    assert result.returncode == 1
    assert list((tmp_path / "out").iterdir()) == []  # no ZIP, no .part, no spool
    assert "no track could be downloaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_get_folder_with_every_track_failing_exits_1(site: Site, tmp_path: Path) -> None:
    page, _ = publish_album(site, 3, missing=(1, 2, 3))
    result = run_cli("get", page, "--out", "out", *ALLOW, cwd=tmp_path)

    assert result.returncode == 1
    assert "audiofetch: 3 failed (0 of 3 tracks" in result.stderr
    assert not list((tmp_path / "out").rglob("*.*"))  # no file (not even a .part) was left


def serve_lanterns(site: Site) -> dict[str, bytes]:
    """The html5_audio fixture album, each file with the bytes of its real format."""
    site.page("/lanterns/album.html", (FIXTURES / "html5_audio" / "album.html").read_text())
    files = {
        "01%20Morning%20Light.mp3": payload(1, 9_000, MAGIC["mp3"]),
        "02-harbour.mp3": payload(2, 9_000, MAGIC["mp3"]),
        "02-harbour.ogg": payload(3, 9_000, MAGIC["ogg"]),
        "03-tide.ogg": payload(4, 9_000, MAGIC["ogg"]),
        "04-lantern.m4a": payload(5, 9_000, MAGIC["m4a"]),
        "05-coda.mp3": payload(6, 9_000, MAGIC["mp3"]),
    }
    for name, data in files.items():
        site.file(f"/lanterns/audio/{name.replace('%20', ' ')}", data)
    return files


def audio_requests(site: Site) -> list[str]:
    return sorted({path for path in site.paths_seen() if path.startswith("/lanterns/audio/")})


def test_get_plugin_forces_one_extractor(site: Site, tmp_path: Path) -> None:
    files = serve_lanterns(site)
    page = site.url("/lanterns/album.html")
    result = run_cli("get", page, "Links only", "--plugin", "links", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "1 tracks from links" in result.stderr
    assert folder_contents(tmp_path / "Links only") == {
        "01 - Download Harbour (MP3).mp3": sha256(files["02-harbour.mp3"])
    }
    assert audio_requests(site) == ["/lanterns/audio/02-harbour.mp3"]


def test_get_prefer_picks_the_format_of_tracks_with_several(site: Site, tmp_path: Path) -> None:
    files = serve_lanterns(site)
    page = site.url("/lanterns/album.html")
    result = run_cli("get", page, "Album", "--prefer", "ogg,m4a", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert folder_contents(tmp_path / "Album") == {
        "01 - Morning Light.mp3": sha256(files["01%20Morning%20Light.mp3"]),
        "02 - Harbour.ogg": sha256(files["02-harbour.ogg"]),
        "03 - Tide Tables.ogg": sha256(files["03-tide.ogg"]),
        "04 - Lantern.m4a": sha256(files["04-lantern.m4a"]),
        "05 - Coda.mp3": sha256(files["05-coda.mp3"]),
    }
    assert "/lanterns/audio/02-harbour.mp3" not in audio_requests(site)


def test_get_on_a_terminal_redraws_one_progress_line(site: Site, tmp_path: Path) -> None:
    page, expected = publish_album(site, 4)
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    with subprocess.Popen(
        [sys.executable, "-m", "audiofetch", "get", page, *ALLOW],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    ) as child:
        os.close(slave)
        screen = read_terminal(master)
        assert child.wait(60) == 0
    os.close(master)

    assert "\r[" in screen and "] 4/4 tracks" in screen  # the bar, redrawn in place
    assert "done: 4 of 4 tracks" in screen
    assert folder_contents(tmp_path / "Live-Studio - Sessions") == {
        name: sha256(data) for name, data in expected.items()
    }


def read_terminal(master: int) -> str:
    """Everything the child wrote to its terminal, until it closed it (EIO on Linux)."""
    output = bytearray()
    while True:
        try:
            piece = os.read(master, 65536)
        except OSError:
            break
        if not piece:
            break
        output += piece
    return output.decode(errors="replace")


SIGINT_DEFAULT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def start_get(
    site: Site, tmp_path: Path, *extra: str, stderr: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    for n in range(1, 5):
        site.file(f"/slow/{n}.mp3", payload(n, 2 * 1024 * 1024), behaviour="slow")
    page = site.page(
        "/slow", album_page("Slow", [(f"S{n}", site.url(f"/slow/{n}.mp3")) for n in range(1, 5)])
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    # A suite started in the background (``./run.sh test &``, nohup, CI) inherits SIGINT ignored, and
    # exec keeps it ignored: the child resets it to the default first, as an interactive shell would.
    command = [sys.executable, "-m", "audiofetch", "get", page, "--out", "out", *ALLOW, *extra]
    return subprocess.Popen(
        [sys.executable, "-c", SIGINT_DEFAULT_THEN_EXEC, *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize("as_zip", [False, True])
def test_ctrl_c_stops_cleanly_and_leaves_no_partial_file(site: Site, tmp_path: Path, as_zip: bool) -> None:
    out = tmp_path / "out"
    with start_get(site, tmp_path, *(["--zip"] if as_zip else [])) as child:
        # Wait until transfers are running (the slow files take seconds each), then press Ctrl-C.
        wait_for(lambda: sum(path.startswith("/slow/") for path in site.paths_seen()) >= 2, "downloads")
        wait_for(lambda: any(out.rglob("*.part")), "a partial file")
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)

    assert child.returncode == 130
    assert stderr.splitlines()[-1] == "audiofetch: interrupted"
    assert "Traceback" not in stderr
    leftovers = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert leftovers == []  # no .part, no .zip.part, no spool file
    assert [p.name for p in out.iterdir()] == ([] if as_zip else ["Slow"])


def test_ctrl_c_on_a_terminal_puts_interrupted_on_its_own_line(site: Site, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    with start_get(site, tmp_path, stderr=slave) as child:
        os.close(slave)
        screen = b""
        while b"\r[" not in screen:  # the progress bar is being drawn
            screen += os.read(master, 65536)
        child.send_signal(signal.SIGINT)
        rest = read_terminal(master)
        assert child.wait(60) == 130
    os.close(master)
    text = screen.decode(errors="replace") + rest
    last = text.replace("\r\n", "\n").rstrip("\n").split("\n")[-1]
    assert last == "audiofetch: interrupted"
    assert "tracks" in text.split("audiofetch: interrupted")[0].rsplit("\n", 2)[-2]  # the bar, ended above
