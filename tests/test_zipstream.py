"""The streaming ZIP writer, read back with Python's zipfile and checked at the byte level."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiofetch.errors import DownloadError, ZipError
from audiofetch.naming import sanitize_path
from audiofetch.zipstream import ERRORS_NAME, ZipEntry, zip_length, zip_stream
from tests.zipcheck import aentries, agen, collect

LOCAL = struct.Struct("<IHHHHHIIIHH")
MTIME = 1_700_000_000  # 2023-11-14


def read(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


def contents(data: bytes) -> dict[str, bytes]:
    archive = read(data)
    return {info.filename: archive.read(info) for info in archive.infolist()}


def extras(blob: bytes) -> dict[int, bytes]:
    fields, pos = {}, 0
    while pos < len(blob):
        tag, length = struct.unpack_from("<HH", blob, pos)
        fields[tag] = blob[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return fields


def local_layout(data: bytes, info: zipfile.ZipInfo) -> tuple[int, dict[int, bytes], bytes]:
    """(version needed, local extra fields, data descriptor) of one entry, read from the raw bytes."""
    fields = LOCAL.unpack_from(data, info.header_offset)
    assert fields[0] == 0x04034B50
    version, flags, crc, csize, usize, name_len, extra_len = (fields[1], fields[2], *fields[6:])
    assert flags & 0x0808 == 0x0808  # data descriptor + UTF-8 names
    assert crc == 0
    start = info.header_offset + LOCAL.size
    assert data[start : start + name_len].decode() == info.filename
    local_extra = extras(data[start + name_len : start + name_len + extra_len])
    data_end = start + name_len + extra_len + info.file_size
    width = 24 if 0x0001 in local_extra else 16
    assert (csize, usize) == ((0xFFFFFFFF, 0xFFFFFFFF) if width == 24 else (0, 0))
    return version, local_extra, data[data_end : data_end + width]


async def test_empty_archive_is_just_the_end_record_python_writes_too() -> None:
    ours = await collect([])
    theirs = io.BytesIO()
    zipfile.ZipFile(theirs, "w").close()
    assert ours == theirs.getvalue()
    assert zip_length([]) == len(ours) == 22


async def test_one_entry_round_trips_byte_for_byte() -> None:
    payload = bytes(range(256)) * 100
    data = await collect([ZipEntry("song.mp3", agen([payload[:1000], payload[1000:]]), mtime=MTIME)])
    assert contents(data) == {"song.mp3": payload}
    info = read(data).getinfo("song.mp3")
    assert info.compress_type == zipfile.ZIP_STORED
    assert zlib.crc32(payload) == info.CRC


async def test_empty_entry_and_empty_chunks() -> None:
    entries = [ZipEntry("empty.mp3", agen([])), ZipEntry("blank.mp3", [b"", b"", b"x", b""], size=1)]
    assert contents(await collect(entries)) == {"empty.mp3": b"", "blank.mp3": b"x"}


async def test_data_may_be_bytes_a_plain_iterable_or_an_async_iterable() -> None:
    entries = [
        ZipEntry("a", b"bytes"),
        ZipEntry("b", [b"li", b"st"]),
        ZipEntry("c", (c for c in [b"gen"])),
        ZipEntry("d", agen([b"as", b"ync"])),
        ZipEntry("e", bytearray(b"ba")),
    ]
    assert contents(await collect(entries)) == {
        "a": b"bytes",
        "b": b"list",
        "c": b"gen",
        "d": b"async",
        "e": b"ba",
    }


async def test_entries_may_arrive_as_an_async_iterable() -> None:
    source = [ZipEntry(f"{i}.mp3", agen([str(i).encode()])) for i in range(5)]
    assert contents(await collect(aentries(source))) == {f"{i}.mp3": str(i).encode() for i in range(5)}
    assert zip_length(aentries(source)) is None


async def test_a_thousand_entries() -> None:
    entries = [ZipEntry(f"dir{i % 7}/track {i:04d}.mp3", [i.to_bytes(4, "big")], size=4) for i in range(1000)]
    data = await collect(entries)
    assert len(data) == zip_length(entries)
    got = contents(data)
    assert len(got) == 1000
    assert got["dir3/track 0997.mp3"] == (997).to_bytes(4, "big")


async def test_non_ascii_names_are_flagged_utf8() -> None:
    names = ["Björk – Jóga.mp3", "坂本龍一/戦場のメリークリスマス.flac", "Ελληνικά.ogg", "emoji 🎵.opus"]
    data = await collect([ZipEntry(name, b"x") for name in names])
    archive = read(data)
    assert archive.namelist() == names
    assert all(info.flag_bits & 0x800 for info in archive.infolist())


@pytest.mark.parametrize(
    ("hostile", "safe"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("/absolute/path.mp3", "absolute/path.mp3"),
        ("..\\..\\Windows\\win.ini", "Windows/win.ini"),
        ("C:\\autoexec.bat", "C -/autoexec.bat"),
        ("a/../../b.mp3", "a/b.mp3"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("CON.mp3", "CON_.mp3"),
        ("", "untitled"),
        ("../..", "untitled"),
        (".hidden/.profile", "hidden/profile"),
    ],
)
async def test_names_that_try_to_escape_are_made_safe(hostile: str, safe: str) -> None:
    assert read(await collect([ZipEntry(hostile, b"x")])).namelist() == [safe]


async def test_names_are_unique_case_insensitively() -> None:
    names = ["Song.mp3", "song.MP3", "SONG.mp3", "dir/a", "DIR/A"]
    entries = [ZipEntry(n, n.encode(), size=len(n)) for n in names]
    data = await collect(entries)
    assert read(data).namelist() == ["Song.mp3", "song (2).MP3", "SONG (3).mp3", "dir/a", "DIR/A (2)"]
    assert zip_length(entries) == len(data)


async def test_times_are_stored_as_dos_local_time_and_utc_extended_timestamp() -> None:
    when = datetime(2024, 5, 17, 13, 45, 31, tzinfo=UTC)
    data = await collect([ZipEntry("a", b"1", mtime=when), ZipEntry("b", b"2", mtime=MTIME)])
    raw = read(data)
    for info, stamp in zip(raw.infolist(), [when.timestamp(), MTIME], strict=True):
        local = time.localtime(stamp)
        assert info.date_time == (*local[:5], local.tm_sec // 2 * 2)
        assert extras(info.extra)[0x5455] == struct.pack("<BI", 1, int(stamp))
        assert local_layout(data, info)[1][0x5455] == struct.pack("<BI", 1, int(stamp))


async def test_missing_mtime_means_now_and_old_dates_clamp_to_1980() -> None:
    before = time.time()
    data = await collect([ZipEntry("now", b""), ZipEntry("old", b"", mtime=0)])
    now, old = read(data).infolist()
    assert abs(struct.unpack("<BI", extras(now.extra)[0x5455])[1] - before) < 60
    assert old.date_time == (1980, 1, 1, 0, 0, 0)


async def test_zip64_only_where_needed_known_small_sizes_use_none() -> None:
    data = await collect([ZipEntry("known", b"abc", size=3)])
    info = read(data).getinfo("known")
    version, local_extra, descriptor = local_layout(data, info)
    assert version == 20 and 0x0001 not in local_extra and 0x0001 not in extras(info.extra)
    assert descriptor == struct.pack("<IIII", 0x08074B50, zlib.crc32(b"abc"), 3, 3)
    assert b"PK\x06\x06" not in data  # no ZIP64 end record


async def test_unknown_sizes_get_zip64_local_field_and_8_byte_descriptor() -> None:
    data = await collect([ZipEntry("unknown", agen([b"abc"]))])
    info = read(data).getinfo("unknown")
    version, local_extra, descriptor = local_layout(data, info)
    assert version == 45
    assert local_extra[0x0001] == struct.pack("<QQ", 0, 0)  # both sizes, as 4.5.3 requires locally
    assert descriptor == struct.pack("<IIQQ", 0x08074B50, zlib.crc32(b"abc"), 3, 3)
    assert 0x0001 not in extras(info.extra)  # the central directory knows it is small


@pytest.mark.parametrize("sizes", [[0], [5, 0, 17], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
async def test_zip_length_equals_bytes_produced(sizes: list[int]) -> None:
    entries = [ZipEntry(f"ünï/{i}" * (i + 1), [b"z" * s], size=s) for i, s in enumerate(sizes)]
    assert zip_length(entries) == len(await collect(entries))


def test_zip_length_is_none_unless_every_size_is_known_and_never_consumes_iterators() -> None:
    assert zip_length([ZipEntry("a", b"", size=0), ZipEntry("b", b"")]) is None
    one_shot = iter([ZipEntry("a", b"", size=0)])
    assert zip_length(one_shot) is None
    assert next(one_shot).name == "a"


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(ZipError):
        ZipEntry("a", b"", size=-1)


@pytest.mark.parametrize("given", [[b"abc"], [b"abcde", b"f"], [b"abcdef"]])
async def test_size_mismatch_raises_before_passing_the_announced_size(given: list[bytes]) -> None:
    entries = [ZipEntry("a", b"12345", size=5), ZipEntry("b", given, size=4)]
    length = zip_length(entries)
    assert length is not None
    produced = 0
    with pytest.raises(ZipError, match="announced 4 bytes"):
        async for chunk in zip_stream(entries):
            produced += len(chunk)
    assert produced < length  # a client holding a Content-Length always sees a short download


async def test_size_mismatch_raises_in_an_unpromised_archive_too() -> None:
    async def too_many() -> AsyncIterator[bytes]:
        yield b"x" * 10

    with pytest.raises(ZipError):
        await collect(aentries([ZipEntry("a", too_many(), size=9)]))


async def test_source_failure_in_a_promised_archive_raises() -> None:
    entries = [
        ZipEntry("ok.mp3", b"fine", size=4),
        ZipEntry("cut.mp3", agen([b"half"], fail=DownloadError("connection reset")), size=8),
    ]
    length = zip_length(entries)
    assert length is not None
    produced = 0
    with pytest.raises(ZipError, match=r"cut\.mp3") as caught:
        async for chunk in zip_stream(entries):
            produced += len(chunk)
    assert isinstance(caught.value.__cause__, DownloadError)
    assert produced < length


async def test_source_failure_in_an_unpromised_archive_lists_what_is_missing() -> None:
    entries = [
        ZipEntry("01 - ok.mp3", agen([b"good"])),
        ZipEntry("02 - cut.mp3", agen([b"half", b"way"], fail=DownloadError("server hung up"))),
        ZipEntry("03 - never.mp3", agen([], fail=OSError("secret path /x/y"))),
        ZipEntry("04 - after.mp3", agen([b"still here"]), size=10),
    ]
    data = await collect(aentries(entries))
    got = contents(data)
    assert list(got) == ["01 - ok.mp3", "04 - after.mp3", ERRORS_NAME]
    assert got["04 - after.mp3"] == b"still here"
    report = got[ERRORS_NAME].decode()
    assert "02 - cut.mp3: server hung up (after 7 bytes)" in report
    assert "03 - never.mp3: unexpected error (OSError) (nothing received)" in report
    assert "secret" not in report
    # The cut entry's bytes are in the stream, closed by a descriptor whose CRC cannot match.
    start = data.index(b"02 - cut.mp3") + len("02 - cut.mp3")
    descriptor_at = data.index(b"PK\x07\x08", start)
    assert data[descriptor_at - 7 : descriptor_at] == b"halfway"
    crc, size = struct.unpack_from("<IQ", data, descriptor_at + 4)
    assert size == 7 and crc != zlib.crc32(b"halfway")
    assert b"03 - never.mp3UT" not in data  # no local header: it failed before its first byte


async def test_errors_report_gets_a_unique_name() -> None:
    entries = [ZipEntry("errors.TXT", b"mine"), ZipEntry("x", agen([], fail=DownloadError("gone")))]
    assert list(contents(await collect(entries))) == ["errors.TXT", "ERRORS (2).txt"]


async def test_closing_the_stream_closes_the_source_in_flight_and_the_entries() -> None:
    closed: list[str] = []

    async def source() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x" * 100
        finally:
            closed.append("source")

    async def entries() -> AsyncIterator[ZipEntry]:
        try:
            yield ZipEntry("endless", source())
        finally:
            closed.append("entries")

    stream = zip_stream(entries())
    async for chunk in stream:
        if chunk == b"x" * 100:
            break
    await stream.aclose()
    assert closed == ["source", "entries"]


@st.composite
def entry_sets(draw: st.DrawFn) -> tuple[list[ZipEntry], dict[str, bytes], bool]:
    count = draw(st.integers(0, 8))
    entries, expected, all_known = [], {}, True
    seen: set[str] = set()
    for i in range(count):
        stem = draw(st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=12))
        name = f"{i:02d} {stem}.mp3"
        payload = draw(st.binary(max_size=3000))
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=5)))
        chunks = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        known = draw(st.booleans())
        all_known &= known
        use_async = draw(st.booleans())
        data = agen(chunks) if use_async else list(chunks)
        entries.append(ZipEntry(name, data, size=len(payload) if known else None))
        assert name.casefold() not in seen
        seen.add(name.casefold())
        expected[name] = payload
    return entries, expected, all_known


@given(entry_sets())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
async def test_python_reader_agrees_on_any_entry_set(
    case: tuple[list[ZipEntry], dict[str, bytes], bool],
) -> None:
    entries, expected, all_known = case
    length = zip_length(entries)
    data = await collect(entries)
    assert (length == len(data)) if all_known else (length is None)
    assert contents(data) == {sanitize_path(name): payload for name, payload in expected.items()}


class _Summed:
    """Async chunks that keep their own CRC-32 (``CheckedChunks``), or say a wrong one when told to."""

    def __init__(self, chunks: list[bytes], *, lie: bool = False) -> None:
        self._chunks, self._lie, self.crc32 = chunks, lie, 0

    async def _walk(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.crc32 = zlib.crc32(chunk, self.crc32)
            yield chunk
        if self._lie:
            self.crc32 ^= 1

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._walk()


async def test_a_source_that_sums_its_bytes_gives_the_crc_and_the_writer_sums_nothing() -> None:
    chunks = [b"abc" * 1000, b"", b"xyz" * 777]
    honest = await collect([ZipEntry("a.bin", _Summed(chunks), size=sum(map(len, chunks)))])
    with zipfile.ZipFile(io.BytesIO(honest)) as archive:
        assert archive.testzip() is None and archive.read("a.bin") == b"".join(chunks)
    # The CRC in the archive is the source's, not one the writer computed: a wrong one shows.
    lying = await collect([ZipEntry("a.bin", _Summed(chunks, lie=True))])
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        assert archive.testzip() == "a.bin"
