"""ZIP64 for real: an archive past 4 GiB with an entry past 4 GiB, and one with more than 65,535 entries.

The big archive is written to a sparse temp file (runs of zeros become holes), checked by every
reader, and deleted by tmp_path's cleanup. Content is checked in full by Python's zipfile and by 7-Zip
(both CRC all 4 GiB, ~2 s each). Info-ZIP unzip needs ~25 s to CRC 4 GiB, so it lists the archive
(sizes past 4 GiB) and tests the entries stored past the 4 GiB offset; bsdtar lists it and extracts those.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from audiofetch.zipstream import ZipEntry, zip_length, zip_stream
from tests.zipcheck import agen, bsdtar_lists, python_reads, run, sevenzip_tests, tool, unzip_tests

MiB = 1 << 20
ZEROS = bytes(8 * MiB)
HEAD = os.urandom(4 * MiB)
TAIL = os.urandom(4 * MiB)
BIG_SIZE = 4 * 1024 * MiB + 16 * MiB  # past 0xFFFFFFFF
assert (BIG_SIZE - len(HEAD) - len(TAIL)) % len(ZEROS) == 0


def big_chunks() -> Iterator[bytes]:
    yield HEAD
    for _ in range((BIG_SIZE - len(HEAD) - len(TAIL)) // len(ZEROS)):
        yield ZEROS
    yield TAIL


async def big_async_chunks() -> AsyncIterator[bytes]:
    for chunk in big_chunks():
        yield chunk


def entries(*, big_size_known: bool) -> list[ZipEntry]:
    return [
        ZipEntry("first.txt", b"before the big one", size=18),
        ZipEntry("big.bin", big_async_chunks(), size=BIG_SIZE if big_size_known else None),
        ZipEntry("after unknown.txt", agen([b"offset past 4 GiB, size unknown"])),
        ZipEntry("after known.txt", b"offset past 4 GiB, size known", size=29),
    ]


async def write_sparse(path: Path, source: list[ZipEntry]) -> int:
    """Stream the archive to disk, seeking over the shared zero chunk so the file stays sparse."""
    written = 0
    with path.open("wb") as out:
        async for chunk in zip_stream(source):
            if chunk is ZEROS:
                out.seek(len(chunk), os.SEEK_CUR)
            else:
                out.write(chunk)
            written += len(chunk)
        out.truncate(written)
    return written


def zip64_extra(info: zipfile.ZipInfo) -> tuple[int, ...]:
    pos = 0
    while pos < len(info.extra):
        tag, length = struct.unpack_from("<HH", info.extra, pos)
        if tag == 0x0001:
            return struct.unpack_from(f"<{length // 8}Q", info.extra, pos + 4)
        pos += 4 + length
    return ()


async def test_zip_length_is_exact_past_4_gib() -> None:
    source = [
        ZipEntry("big.bin", big_async_chunks(), size=BIG_SIZE),
        ZipEntry("small.txt", b"tail entry", size=10),
    ]
    expected = zip_length(source)
    produced = 0
    async for chunk in zip_stream(source):
        produced += len(chunk)
    assert expected is not None and expected > 0xFFFFFFFF
    assert produced == expected


async def test_archive_past_4_gib_with_an_entry_past_4_gib(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    size = await write_sparse(path, entries(big_size_known=False))
    assert size > BIG_SIZE and path.stat().st_size == size

    infos = python_reads(path)  # CRCs all 4 GiB
    assert [i.filename for i in infos] == ["first.txt", "big.bin", "after unknown.txt", "after known.txt"]
    big = infos[1]
    assert big.file_size == big.compress_size == BIG_SIZE
    assert zip64_extra(big) == (BIG_SIZE, BIG_SIZE)  # sizes overflow, its offset does not
    assert zip64_extra(infos[2]) == (infos[2].header_offset,)  # offset overflows, size does not
    assert infos[3].header_offset > 0xFFFFFFFF
    with zipfile.ZipFile(path) as archive:
        with archive.open("big.bin") as member:
            assert member.read(len(HEAD)) == HEAD
            member.seek(BIG_SIZE - len(TAIL))
            assert member.read() == TAIL
        assert archive.read("after unknown.txt") == b"offset past 4 GiB, size unknown"
        assert archive.read("after known.txt") == b"offset past 4 GiB, size known"

    sevenzip_tests(path)
    listing = run(tool("unzip"), "-l", str(path)).stdout.decode()
    assert f"{BIG_SIZE}  " in listing and "big.bin" in listing
    small = [i.filename for i in infos if i.filename != "big.bin"]
    tested = run(tool("unzip"), "-t", str(path), *small)
    assert tested.returncode == 0 and b"No errors detected" in tested.stdout, tested.stdout
    assert bsdtar_lists(path) == [i.filename for i in infos]
    extracted = run(tool("bsdtar"), "-xOf", str(path), "after unknown.txt", "after known.txt")
    assert extracted.returncode == 0, extracted.stderr
    assert extracted.stdout == b"offset past 4 GiB, size unknownoffset past 4 GiB, size known"


async def test_more_than_65535_entries_use_the_zip64_end_record(tmp_path: Path) -> None:
    count = 70_000
    source = [ZipEntry(f"{i:05d}", b"", size=0) for i in range(count)]
    path = tmp_path / "many.zip"
    data = b"".join([chunk async for chunk in zip_stream(source)])
    assert len(data) == zip_length(source)
    path.write_bytes(data)
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # ZIP64 end record and locator
    end = struct.unpack("<IHHHHIIH", data[-22:])
    assert end[3] == end[4] == 0xFFFF
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert len(names) == count and names[-1] == f"{count - 1:05d}"
    unzip_tests(path)
    sevenzip_tests(path)
    assert len(bsdtar_lists(path)) == count
