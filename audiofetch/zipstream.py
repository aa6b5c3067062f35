"""Our streaming ZIP writer: stored entries, CRC-32 on the fly, ZIP64 only where needed, exact length.

Pure: no sockets, no disk; the only IO-facing part is iterating the callers' byte sources. Section
numbers refer to PKWARE's APPNOTE.TXT 6.3.x.

Format
    Every entry is stored (method 0, audio is already compressed) with general-purpose flag bit 3
    (4.4.4): the local header (4.3.7) carries zero CRC and sizes, and a data descriptor with its
    signature (4.3.9) follows the data, so nothing is buffered. Bit 11 marks names as UTF-8 (4.4.4,
    appendix D). Times are MS-DOS local date/time (4.4.6) plus the Info-ZIP extended timestamp extra
    field 0x5455 (4.6.1; UTC seconds). The central directory (4.3.12) and end record (4.3.16) close it.

ZIP64, automatically and only where needed (4.3.9.2, 4.4.8, 4.5.3, 4.3.14, 4.3.15)
    An entry is a *ZIP64 entry* when its announced size is 0xFFFFFFFF or more, **or when its size is
    unknown**: a streaming writer must decide in the local header whether the data descriptor holds
    4- or 8-byte sizes, and readers that read forward (no central directory) take the presence of the
    ZIP64 extra field in the local header as the sign of an 8-byte descriptor (4.3.9.2). So a ZIP64
    entry's local header carries sizes 0xFFFFFFFF, version needed 4.5 and a ZIP64 extra field with
    both sizes (zero, per bit 3; 4.5.3 says the local one MUST hold both), and its descriptor has
    8-byte sizes; every other entry has neither. The central directory is written once everything is
    known, so there a ZIP64 extra field appears only for the values that overflow 32 bits (sizes,
    local-header offset; 4.5.3 fixes their order). The ZIP64 end record and locator are written only
    when the entry count reaches 0xFFFF or the directory's size or offset reaches 0xFFFFFFFF.

Names
    Each name goes through :func:`audiofetch.naming.sanitize_path` (no absolute paths, no ``..``,
    every component safe on every OS) and then a case-insensitive :class:`~audiofetch.naming.UniqueNames`,
    so no archive we write can escape its folder or overwrite one of its own files when unpacked.

Exact length and broken promises
    When ``entries`` is a sequence and every size is known, :func:`zip_length` returns the exact byte
    count (the same framing code runs without data) and the archive is *promised*. Whenever an entry
    yields more or fewer bytes than its announced size, :class:`~audiofetch.errors.ZipError` is raised
    before a byte past the announced size is yielded, so the consumer can drop the connection: a
    client then always sees a short, failed download, never a complete-looking wrong file.

Sources that compute their own CRC-32
    A source that already passes over every byte (a spool that checks restarted downloads, say) may
    say so: ``data`` implementing :class:`CheckedChunks` has its ``crc32`` written in the descriptor
    and the writer computes none, so each byte is summed once. The writer trusts that value.

A source that fails part-way (any ``Exception`` from iterating ``data``)
    - Promised archive (a length may have gone out as Content-Length): raise ``ZipError`` from the
      failure; the archive is unusable and the connection must be dropped.
    - Otherwise the archive goes on. An entry that failed before its first byte is skipped without a
      trace. One that failed after it is closed with a data descriptor holding its true size and a
      deliberately wrong CRC, and is left out of the central directory: readers that use the central
      directory (zipfile, unzip, 7-Zip, bsdtar on a file) never list it, and
      forward-only readers (libarchive on a pipe) report an error at that point instead of writing
      a truncated file as if it were whole. The remaining entries follow, then a final
      ``ERRORS.txt`` names every missing file and why (``user_message`` for our errors, only the
      class name for others, so no path or URL leaks into the archive).
"""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias, runtime_checkable
from zlib import crc32

from audiofetch.errors import AudioFetchError, ZipError
from audiofetch.naming import UniqueNames, sanitize_path

__all__ = ["ERRORS_NAME", "CheckedChunks", "ZipEntry", "zip_length", "zip_stream"]

ERRORS_NAME = "ERRORS.txt"
"""Entry added at the end of a non-promised archive when some sources failed."""

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_FLAGS = 0x0008 | 0x0800  # bit 3: data descriptor follows; bit 11: UTF-8 names
_VERSION_MADE_BY = (3 << 8) | 63  # Unix, spec 6.3
_VERSION_DEFAULT = 20
_VERSION_ZIP64 = 45
_UNIX_FILE_ATTRS = 0o100644 << 16

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_DESCRIPTOR = struct.Struct("<IIII")
_DESCRIPTOR64 = struct.Struct("<IIQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EXTRA_TIME = struct.Struct("<HHBI")  # 0x5455, length 5, flags (bit 0: mtime), mtime
_EXTRA_ZIP64_LOCAL = struct.Struct("<HHQQ")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")

_Chunks: TypeAlias = bytes | bytearray | memoryview | Iterable[bytes] | AsyncIterable[bytes]


@runtime_checkable
class CheckedChunks(Protocol):
    """Async chunks whose source keeps ``crc32``: the CRC-32 of every byte it has yielded so far."""

    @property
    def crc32(self) -> int: ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One file of the archive.

    ``data`` is bytes or a plain or async iterable of byte chunks, read once. ``size`` is the exact
    byte count when known (Content-Length, a file on disk). ``mtime`` is POSIX seconds or a datetime;
    ``None`` means the moment the archive was started.
    """

    name: str
    data: _Chunks
    size: int | None = None
    mtime: float | datetime | None = None

    def __post_init__(self) -> None:
        if self.size is not None and not 0 <= self.size < 1 << 64:
            raise ZipError(f"ZIP entry {self.name!r} has an impossible size {self.size}")


@dataclass(frozen=True, slots=True)
class _Record:
    """What the central directory needs to know about one finished entry."""

    name: bytes
    crc: int
    size: int
    offset: int
    zip64_local: bool
    dos_time: int
    dos_date: int
    unix_time: int


class _Framer:
    """Sans-IO framing: returns header bytes and tracks offsets; the same code sizes and writes."""

    def __init__(self) -> None:
        self.offset = 0
        self.records: list[_Record] = []

    def local_header(self, name: bytes, size: int | None, mtime: float) -> tuple[bytes, _Record]:
        zip64 = size is None or size >= _U32
        dos_time, dos_date = _dos_datetime(mtime)
        unix_time = min(max(int(mtime), 0), 0x7FFFFFFF)
        extra = _EXTRA_TIME.pack(0x5455, 5, 1, unix_time)
        if zip64:
            extra += _EXTRA_ZIP64_LOCAL.pack(0x0001, 16, 0, 0)
        if len(name) > _U16:
            raise ZipError(f"ZIP entry name is {len(name)} bytes long; at most {_U16} are allowed")
        header = _LOCAL.pack(
            0x04034B50,
            _VERSION_ZIP64 if zip64 else _VERSION_DEFAULT,
            _FLAGS,
            0,
            dos_time,
            dos_date,
            0,
            _U32 if zip64 else 0,
            _U32 if zip64 else 0,
            len(name),
            len(extra),
        )
        record = _Record(name, 0, 0, self.offset, zip64, dos_time, dos_date, unix_time)
        self.offset += len(header) + len(name) + len(extra)
        return header + name + extra, record

    def descriptor(self, record: _Record, crc: int, size: int, *, listed: bool = True) -> bytes:
        """Close an entry; ``listed=False`` keeps it out of the central directory (a broken entry)."""
        if record.zip64_local:
            data = _DESCRIPTOR64.pack(0x08074B50, crc, size, size)
        elif size >= _U32:
            raise ZipError("a ZIP entry announced below 4 GiB grew past it")
        else:
            data = _DESCRIPTOR.pack(0x08074B50, crc, size, size)
        self.offset += size + len(data)
        if listed:
            self.records.append(
                _Record(
                    record.name,
                    crc,
                    size,
                    record.offset,
                    record.zip64_local,
                    record.dos_time,
                    record.dos_date,
                    record.unix_time,
                )
            )
        return data

    def central_directory(self) -> bytes:
        parts: list[bytes] = []
        start = self.offset
        for rec in self.records:
            big_size = rec.size >= _U32
            big_offset = rec.offset >= _U32
            extra = _EXTRA_TIME.pack(0x5455, 5, 1, rec.unix_time)
            values = ([rec.size, rec.size] if big_size else []) + ([rec.offset] if big_offset else [])
            if values:
                extra += struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values)
            parts.append(
                _CENTRAL.pack(
                    0x02014B50,
                    _VERSION_MADE_BY,
                    _VERSION_ZIP64 if rec.zip64_local or values else _VERSION_DEFAULT,
                    _FLAGS,
                    0,
                    rec.dos_time,
                    rec.dos_date,
                    rec.crc,
                    _U32 if big_size else rec.size,
                    _U32 if big_size else rec.size,
                    len(rec.name),
                    len(extra),
                    0,
                    0,
                    0,
                    _UNIX_FILE_ATTRS,
                    _U32 if big_offset else rec.offset,
                )
            )
            parts.append(rec.name)
            parts.append(extra)
        directory = b"".join(parts)
        size, count = len(directory), len(self.records)
        tail = b""
        if count >= _U16 or size >= _U32 or start >= _U32:
            end64_offset = start + size
            tail = _END64.pack(
                0x06064B50, 44, _VERSION_MADE_BY, _VERSION_ZIP64, 0, 0, count, count, size, start
            ) + _LOCATOR64.pack(0x07064B50, 0, end64_offset, 1)
        end = _END.pack(
            0x06054B50,
            0,
            0,
            min(count, _U16),
            min(count, _U16),
            min(size, _U32),
            min(start, _U32),
            0,
        )
        out = directory + tail + end
        self.offset += len(out)
        return out


def _dos_datetime(mtime: float) -> tuple[int, int]:
    """MS-DOS time and date words (4.4.6), local time, clamped to 1980..2107."""
    try:
        t = time.localtime(mtime)
    except (OverflowError, OSError, ValueError):
        t = time.localtime(0)
    if t.tm_year < 1980:
        return 0, (1 << 5) | 1
    if t.tm_year > 2107:
        return (23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31
    return (
        (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
        ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday,
    )


def _seconds(mtime: float | datetime | None, default: float) -> float:
    if mtime is None:
        return default
    if isinstance(mtime, datetime):
        return mtime.timestamp()
    return float(mtime)


class _Names:
    """Sanitised, case-insensitively unique entry names, encoded as UTF-8."""

    def __init__(self) -> None:
        self._unique = UniqueNames()

    def claim(self, name: str) -> tuple[str, bytes]:
        safe = self._unique.claim(sanitize_path(name))
        return safe, safe.encode("utf-8")


def zip_length(entries: Iterable[ZipEntry] | AsyncIterable[ZipEntry]) -> int | None:
    """The exact byte length of ``zip_stream(entries)``, or None unless every size is known up front.

    Only a sequence (list, tuple) can be measured; other iterables are never consumed and give None.
    """
    if not isinstance(entries, Sequence) or any(entry.size is None for entry in entries):
        return None
    framer, names = _Framer(), _Names()
    for entry in entries:
        assert entry.size is not None
        _, record = framer.local_header(names.claim(entry.name)[1], entry.size, 0.0)
        framer.descriptor(record, 0, entry.size)
    framer.central_directory()
    return framer.offset


async def _iterate_entries(
    entries: Iterable[ZipEntry] | AsyncIterable[ZipEntry],
) -> AsyncGenerator[ZipEntry, None]:
    """Walk either kind of iterable; closing this closes the caller's generator too (stops the producer)."""
    if isinstance(entries, AsyncIterable):
        source = aiter(entries)
        try:
            async for entry in source:
                yield entry
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        sync_source = iter(entries)
        try:
            for entry in sync_source:
                yield entry
        finally:
            close = getattr(sync_source, "close", None)
            if close is not None:
                close()


class _SourceFailed(Exception):
    """Internal: a source raised before its first chunk."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def _open(data: _Chunks) -> tuple[AsyncIterator[bytes] | None, Iterator[bytes] | None, bytes | None]:
    """Start a source and read its first chunk, so a source that fails at once leaves no trace."""
    if isinstance(data, bytes | bytearray | memoryview):
        return None, None, bytes(data)
    if isinstance(data, AsyncIterable):
        source = aiter(data)
        try:
            return source, None, await anext(source, None)
        except Exception as exc:
            await _close(source, None)
            raise _SourceFailed(exc) from exc
    sync_source = iter(data)
    try:
        return None, sync_source, next(sync_source, None)
    except Exception as exc:
        await _close(None, sync_source)
        raise _SourceFailed(exc) from exc


async def _close(source: AsyncIterator[bytes] | None, sync_source: Iterator[bytes] | None) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()
    close = getattr(sync_source, "close", None)
    if close is not None:
        close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AudioFetchError):
        return exc.user_message
    return f"unexpected error ({type(exc).__name__})"


def _errors_entry(failures: list[tuple[str, str]], mtime: float) -> ZipEntry:
    lines = ["These files could not be included in full and are missing from this archive:", ""]
    lines += [f"{name}: {reason}" for name, reason in failures]
    text = ("\n".join(lines) + "\n").encode("utf-8")
    return ZipEntry(ERRORS_NAME, text, size=len(text), mtime=mtime)


async def zip_stream(
    entries: Iterable[ZipEntry] | AsyncIterable[ZipEntry],
) -> AsyncGenerator[bytes, None]:
    """Yield the archive's bytes; the callers' data chunks are passed through as they are.

    Raises ZipError when a size differs from the announced one, or when a source fails and the
    archive is promised (see the module docstring). Closing this generator closes the source in flight.
    """
    promised = isinstance(entries, Sequence) and all(entry.size is not None for entry in entries)
    framer, names = _Framer(), _Names()
    started = time.time()
    failures: list[tuple[str, str]] = []
    errors_added = False
    async with aclosing(_iterate_entries(entries)) as queue:
        while True:
            entry = await anext(queue, None)
            if entry is None:
                if not failures or errors_added:
                    break
                entry, errors_added = _errors_entry(failures, started), True
            safe_name, name = names.claim(entry.name)
            size = entry.size
            try:
                source, sync_source, first = await _open(entry.data)
            except _SourceFailed as failed:
                if promised:
                    raise ZipError(f"the source of {safe_name!r} failed; archive aborted") from failed.cause
                failures.append((safe_name, f"{_describe(failed.cause)} (nothing received)"))
                continue
            header, record = framer.local_header(name, size, _seconds(entry.mtime, started))
            yield header
            checked = entry.data if isinstance(entry.data, CheckedChunks) else None
            # The per-chunk loops below are the hot path: one crc32, one add, one compare at most.
            crc = sent = 0
            try:
                if first is not None:
                    sent = len(first)
                    if size is not None and sent > size:
                        raise _too_long(safe_name, size)
                    crc = crc32(first) if checked is None else 0
                    yield first
                if source is not None and checked is not None:  # the source sums the bytes itself
                    async for chunk in source:
                        sent += len(chunk)
                        if size is not None and sent > size:
                            raise _too_long(safe_name, size)
                        yield chunk
                elif source is not None:
                    if size is None:
                        async for chunk in source:
                            crc = crc32(chunk, crc)
                            sent += len(chunk)
                            yield chunk
                    else:
                        async for chunk in source:
                            sent += len(chunk)
                            if sent > size:
                                raise _too_long(safe_name, size)
                            crc = crc32(chunk, crc)
                            yield chunk
                elif sync_source is not None:
                    if size is None:
                        for chunk in sync_source:
                            crc = crc32(chunk, crc)
                            sent += len(chunk)
                            yield chunk
                    else:
                        for chunk in sync_source:
                            sent += len(chunk)
                            if sent > size:
                                raise _too_long(safe_name, size)
                            crc = crc32(chunk, crc)
                            yield chunk
            except ZipError:
                raise
            except Exception as exc:
                if promised:
                    raise ZipError(
                        f"the source of {safe_name!r} failed after {sent} bytes; archive aborted"
                    ) from exc
                failures.append((safe_name, f"{_describe(exc)} (after {sent} bytes)"))
                # Close the entry so the stream stays walkable, but with a CRC that cannot match
                # and no central directory record: no reader will present it as a complete file.
                crc = crc if checked is None else checked.crc32
                yield framer.descriptor(record, crc ^ _U32, sent, listed=False)
                continue
            finally:
                await _close(source, sync_source)
            if size is not None and sent != size:
                raise ZipError(f"ZIP entry {safe_name!r} announced {size} bytes but its source gave {sent}")
            yield framer.descriptor(record, crc if checked is None else checked.crc32, sent)
    yield framer.central_directory()


def _too_long(name: str, size: int) -> ZipError:
    return ZipError(f"ZIP entry {name!r} announced {size} bytes but its source gave more")
