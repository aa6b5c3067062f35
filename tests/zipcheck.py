"""Helpers for the ZIP writer tests: collect a stream, build sources, run the real outside readers."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from audiofetch.zipstream import ZipEntry, zip_stream

READERS = ("unzip", "7z", "bsdtar")


async def collect(entries: Iterable[ZipEntry] | AsyncIterator[ZipEntry]) -> bytes:
    return b"".join([chunk async for chunk in zip_stream(entries)])


async def agen(chunks: Iterable[bytes], fail: Exception | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if fail is not None:
        raise fail


async def aentries(entries: Iterable[ZipEntry]) -> AsyncIterator[ZipEntry]:
    for entry in entries:
        yield entry


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: apt-get install -y unzip p7zip-full libarchive-tools"
    return path


def run(*args: str, stdin: bytes | None = None, timeout: float = 110) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, check=False)


def python_reads(path: Path, expected: dict[str, bytes] | None = None) -> list[zipfile.ZipInfo]:
    """Python's zipfile: every CRC right, and (when given) exactly these names and contents."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        if expected is not None:
            assert [info.filename for info in infos] == list(expected)
            for name, data in expected.items():
                assert archive.read(name) == data, name
    return infos


def unzip_tests(path: Path) -> None:
    result = run(tool("unzip"), "-t", str(path))
    out = result.stdout.decode(errors="replace")
    assert result.returncode == 0, out + result.stderr.decode(errors="replace")
    assert "No errors detected" in out


def sevenzip_tests(path: Path) -> None:
    result = run(tool("7z"), "t", str(path))
    out = result.stdout.decode(errors="replace")
    assert result.returncode == 0, out + result.stderr.decode(errors="replace")
    assert "Everything is Ok" in out
    assert "Warning" not in out and "ERROR" not in out.upper().replace("ERRORS.TXT", ""), out


def bsdtar_lists(path: Path) -> list[str]:
    result = run(tool("bsdtar"), "-tf", str(path))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode().splitlines()


def bsdtar_streams(path: Path, dest: Path) -> None:
    """Extract through a pipe, so libarchive reads forward through local headers and data descriptors."""
    dest.mkdir()
    result = run(tool("bsdtar"), "-xf", "-", "-C", str(dest), stdin=path.read_bytes())
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def all_readers_accept(path: Path, expected: dict[str, bytes]) -> None:
    """zipfile, unzip -t, 7z t, bsdtar -tf (central directory) and a forward-only bsdtar extraction."""
    python_reads(path, expected)
    unzip_tests(path)
    sevenzip_tests(path)
    assert bsdtar_lists(path) == list(expected)
    dest = path.with_suffix(".out")
    bsdtar_streams(path, dest)
    for name, data in expected.items():
        assert (dest / name).read_bytes() == data, name
    shutil.rmtree(dest)
