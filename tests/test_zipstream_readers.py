"""Archives from zip_stream checked by the real outside readers: Info-ZIP unzip, 7-Zip, libarchive."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from audiofetch.errors import DownloadError
from audiofetch.zipstream import ERRORS_NAME, ZipEntry, zip_length
from tests.zipcheck import (
    aentries,
    agen,
    all_readers_accept,
    bsdtar_lists,
    collect,
    python_reads,
    run,
    sevenzip_tests,
    tool,
    unzip_tests,
)


async def write(tmp_path: Path, entries: list[ZipEntry], *, promised: bool = True) -> Path:
    path = tmp_path / "out.zip"
    data = await collect(entries if promised else aentries(entries))
    path.write_bytes(data)
    if promised and all(e.size is not None for e in entries):
        assert zip_length(entries) == len(data)
    return path


async def test_empty_archive(tmp_path: Path) -> None:
    path = await write(tmp_path, [])
    python_reads(path, {})
    result = run(tool("unzip"), "-t", str(path))
    assert result.returncode == 1 and b"zipfile is empty" in result.stdout  # unzip's verdict on any empty zip
    sevenzip_tests(path)
    assert bsdtar_lists(path) == []


async def test_empty_entry_and_one_entry(tmp_path: Path) -> None:
    payload = os.urandom(200_000)
    entries = [
        ZipEntry("empty.mp3", b"", size=0),
        ZipEntry("one.mp3", agen([payload[:65536], payload[65536:]])),
    ]
    all_readers_accept(await write(tmp_path, entries), {"empty.mp3": b"", "one.mp3": payload})


async def test_a_thousand_entries_with_known_sizes(tmp_path: Path) -> None:
    expected = {f"disc {i % 3}/{i:04d} - track.mp3": os.urandom(i % 50) for i in range(1000)}
    entries = [ZipEntry(name, [data], size=len(data)) for name, data in expected.items()]
    all_readers_accept(await write(tmp_path, entries), expected)


async def test_non_ascii_names(tmp_path: Path) -> None:
    expected = {
        "Björk – Jóga.mp3": b"1",
        "坂本龍一/戦場のメリークリスマス.flac": b"22",
        "Ελληνικά ✓.ogg": b"333",
        "emoji 🎵.opus": b"4444",
    }
    entries = [ZipEntry(name, agen([data])) for name, data in expected.items()]
    all_readers_accept(await write(tmp_path, entries), expected)


async def test_names_that_try_to_escape_stay_inside_the_folder(tmp_path: Path) -> None:
    hostile = [
        "../../escaped.txt",
        "/etc/cron.d/evil",
        "..\\..\\win.ini",
        "a/../../../b.txt",
        "CON",
        ".bashrc",
    ]
    entries = [ZipEntry(name, name.encode(), size=len(name.encode())) for name in hostile]
    path = await write(tmp_path, entries)
    expected = {
        "escaped.txt": b"../../escaped.txt",
        "etc/cron.d/evil": b"/etc/cron.d/evil",
        "win.ini": b"..\\..\\win.ini",
        "a/b.txt": b"a/../../../b.txt",
        "CON_": b"CON",
        "bashrc": b".bashrc",
    }
    all_readers_accept(path, expected)
    dest = tmp_path / "jail" / "inside"
    dest.mkdir(parents=True)
    result = run(tool("unzip"), "-q", str(path), "-d", str(dest))
    assert result.returncode == 0, result.stderr
    everything = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert everything == {"out.zip"} | {f"jail/inside/{name}" for name in expected}


async def test_unknown_sizes_from_async_entries(tmp_path: Path) -> None:
    expected = {f"{i:02d}.mp3": os.urandom(1000 * i) for i in range(1, 6)}
    entries = [ZipEntry(name, agen([data[:500], data[500:]])) for name, data in expected.items()]
    all_readers_accept(await write(tmp_path, entries, promised=False), expected)


async def test_known_sizes_give_the_exact_length(tmp_path: Path) -> None:
    expected = {f"{i:02d} - Track.mp3": os.urandom(4096 * i + 7) for i in range(10)}
    entries = [
        ZipEntry(name, agen([data]), size=len(data), mtime=1_600_000_000) for name, data in expected.items()
    ]
    path = await write(tmp_path, entries)  # asserts zip_length == bytes produced
    all_readers_accept(path, expected)
    # The readers see the date we set (unzip -Z -T prints yyyymmdd.hhmmss).
    listing = run(tool("unzip"), "-Z", "-T", str(path)).stdout.decode()
    assert "20200913." in listing  # 1_600_000_000 is 2020-09-13 UTC


async def test_archive_with_a_failed_source_is_clean_for_every_reader(tmp_path: Path) -> None:
    entries = [
        ZipEntry("01 - ok.mp3", agen([b"good"])),
        ZipEntry("02 - cut.mp3", agen([b"half"], fail=DownloadError("server hung up"))),
        ZipEntry("03 - ok.mp3", agen([b"also good"])),
    ]
    path = await write(tmp_path, entries, promised=False)
    with zipfile.ZipFile(path) as archive:
        report = archive.read(ERRORS_NAME)
    assert b"02 - cut.mp3: server hung up" in report
    expected = {"01 - ok.mp3": b"good", "03 - ok.mp3": b"also good", ERRORS_NAME: report}
    python_reads(path, expected)
    unzip_tests(path)
    sevenzip_tests(path)
    assert bsdtar_lists(path) == list(expected)
    # A forward-only reader meets the cut entry first and must not present it as a good file.
    dest = tmp_path / "forward"
    dest.mkdir()
    result = subprocess.run(
        [tool("bsdtar"), "-xf", "-", "-C", str(dest)],
        input=path.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0
    assert (dest / "01 - ok.mp3").read_bytes() == b"good"


@pytest.mark.parametrize("reader", ["unzip", "7z"])
async def test_readers_reject_a_corrupted_archive(tmp_path: Path, reader: str) -> None:
    """The checks above can fail: flip one data byte and both testers object."""
    path = await write(tmp_path, [ZipEntry("a.mp3", b"x" * 1000, size=1000)])
    data = bytearray(path.read_bytes())
    data[data.index(b"x" * 1000) + 500] ^= 1
    path.write_bytes(bytes(data))
    args = ["-t", str(path)] if reader == "unzip" else ["t", str(path)]
    assert run(tool(reader), *args).returncode != 0
