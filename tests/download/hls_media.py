"""Hand-made HLS media for the tests: ADTS frames, MPEG-TS packets, fMP4 boxes, AES-128, and a server.

Every byte is built here from the specs (ISO 13818-1 for TS, ISO 14496-3 for ADTS, RFC 8216 for HLS),
so the tests know exactly which audio bytes a correct join must give back.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.kit.site import served

AUDIO_PID = 0x101
PMT_PID = 0x1000
ID3_PID = 0x102


def adts_frame(payload: bytes) -> bytes:
    """One ADTS frame: 7-byte header (MPEG-4 AAC LC, 44.1 kHz, stereo, no CRC) + ``payload``."""
    length = 7 + len(payload)
    profile, rate, channels = 1, 4, 2
    header = bytes(
        [
            0xFF,
            0xF1,
            (profile << 6) | (rate << 2) | (channels >> 2),
            ((channels & 3) << 6) | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,
            0xFC,
        ]
    )
    return header + payload


def adts_frames(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [adts_frame(rng.randbytes(rng.randint(60, 420))) for _ in range(count)]


def id3_tag(
    body: bytes = b"PRIV\x00\x00\x00\x35\x00\x00com.apple.streaming.transportStreamTimestamp",
) -> bytes:
    """An ID3v2.4 tag as HLS packed audio starts with (the body need not be a valid frame here)."""
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + body


def _crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


class TsWriter:
    """Builds transport stream packets with per-PID continuity counters."""

    def __init__(self) -> None:
        self.counters: dict[int, int] = defaultdict(int)

    def packet(self, pid: int, payload: bytes, *, start: bool, stuff_to_fill: bool = True) -> bytes:
        """One 188-byte packet; a short payload is padded with an adaptation field of stuffing."""
        assert len(payload) <= 184
        counter = self.counters[pid]
        self.counters[pid] = (counter + 1) % 16
        header = bytes([0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF])
        if len(payload) == 184:
            return header + bytes([0x10 | counter]) + payload
        room = 184 - len(payload)  # adaptation field: length byte + flags + stuffing
        adaptation = bytes([room - 1]) + (b"\x00" + b"\xff" * (room - 2) if room > 1 else b"")
        return header + bytes([0x30 | counter]) + adaptation + payload

    def section(self, pid: int, table_id: int, body: bytes) -> bytes:
        head = bytes([table_id, 0xB0 | ((len(body) + 4) >> 8), (len(body) + 4) & 0xFF])
        crc = _crc32_mpeg(head + body).to_bytes(4, "big")
        payload = b"\x00" + head + body + crc
        return self.packet(pid, payload + b"\xff" * (184 - len(payload)), start=True)

    def pat(self) -> bytes:
        body = b"\x00\x01\xc1\x00\x00" + b"\x00\x01" + bytes([0xE0 | (PMT_PID >> 8), PMT_PID & 0xFF])
        return self.section(0, 0x00, body)

    def pmt(self, stream_type: int = 0x0F) -> bytes:
        streams = bytes([0x15, 0xE0 | (ID3_PID >> 8), ID3_PID & 0xFF, 0xF0, 0x00])  # timed ID3 first
        streams += bytes([stream_type, 0xE0 | (AUDIO_PID >> 8), AUDIO_PID & 0xFF, 0xF0, 0x00])
        body = (
            b"\x00\x01\xc1\x00\x00" + bytes([0xE0 | (AUDIO_PID >> 8), AUDIO_PID & 0xFF, 0xF0, 0x00]) + streams
        )
        return self.section(PMT_PID, 0x02, body)

    def pes(self, pid: int, data: bytes, stream_id: int = 0xC0) -> list[bytes]:
        """A PES (with a PTS) carrying ``data``, cut into packets."""
        optional = b"\x80\x80\x05" + b"\x21\x00\x01\x00\x01"
        length = len(optional) + len(data)
        pes = b"\x00\x00\x01" + bytes([stream_id]) + (length if length < 65536 else 0).to_bytes(2, "big")
        pes += optional + data
        return [self.packet(pid, pes[i : i + 184], start=i == 0) for i in range(0, len(pes), 184)]


def ts_segment(writer: TsWriter, frames: list[bytes], *, per_pes: int = 3) -> bytes:
    """PAT, PMT, a timed-ID3 PES and the frames in PES packets of ``per_pes`` frames, plus a null packet."""
    packets = [writer.pat(), writer.pmt()]
    packets += writer.pes(ID3_PID, id3_tag(), stream_id=0xBD)
    for start in range(0, len(frames), per_pes):
        packets += writer.pes(AUDIO_PID, b"".join(frames[start : start + per_pes]))
    packets.append(bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184)
    return b"".join(packets)


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def fmp4_init(seed: int) -> bytes:
    rng = random.Random(seed)
    return box(b"ftyp", b"iso6\x00\x00\x00\x00iso6mp41") + box(b"moov", rng.randbytes(300))


def fmp4_segment(seed: int) -> bytes:
    rng = random.Random(seed)
    return box(b"moof", rng.randbytes(120)) + box(b"mdat", rng.randbytes(rng.randint(2000, 6000)))


def encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    pad = 16 - len(data) % 16
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


def media_playlist(
    segments: list[str],
    *,
    ended: bool = True,
    sequence: int = 0,
    head: str = "",
    durations: float = 6.0,
) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:6", f"#EXT-X-MEDIA-SEQUENCE:{sequence}"]
    if head:
        lines.append(head)
    for name in segments:
        if name.startswith("#"):
            lines.append(name)
        else:
            lines += [f"#EXTINF:{durations:.3f},", name]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


_RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass
class HlsServer:
    """Serves files by name. ``fail_once`` answer 503 the first time; ``wait_for[a] = b`` holds ``a``'s
    answer until ``b`` has been asked for; ``hang`` never answers. Range requests are honoured, except
    for names in ``no_ranges`` (the whole file, 200)."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    fail_once: set[str] = field(default_factory=set)
    wait_for: dict[str, str] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    no_ranges: set[str] = field(default_factory=set)
    hits: Counter[str] = field(default_factory=Counter)
    finished: list[str] = field(default_factory=list)
    asked: dict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    def add(self, name: str, data: bytes | str, content_type: str = "application/octet-stream") -> str:
        self.files[name] = data.encode() if isinstance(data, str) else data
        self.types[name] = content_type
        return f"{self.base}/{name}"

    def playlist(self, name: str, text: str) -> str:
        return self.add(name, text, "application/vnd.apple.mpegurl")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        self.asked[name].set()
        if name not in self.files:
            raise web.HTTPNotFound()
        if name in self.fail_once and self.hits[name] == 1:
            return web.Response(status=503, text="busy")
        if name in self.hang:
            await asyncio.Event().wait()
        if name in self.wait_for:
            await self.asked[self.wait_for[name]].wait()
        body, status, headers = self.files[name], 200, {"Content-Type": self.types[name]}
        match = _RANGE.match(request.headers.get("Range", ""))
        if match and name not in self.no_ranges:
            start = int(match.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            body, status = body[start:], 206
        self.finished.append(name)
        return web.Response(body=body, status=status, headers=headers)


async def start_hls_server(aiohttp_server: Any) -> HlsServer:
    state = HlsServer()
    state.base = await served(aiohttp_server, state.handle, "/{name:.+}")
    return state
