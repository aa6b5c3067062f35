"""Real test audio: a WAV encoded by Debian's lame, flac, oggenc and opusenc; an M4A and covers built here.

Debian packages: lame, flac, vorbis-tools, opus-tools. No AAC encoder ships in a small Debian package
(sox cannot write M4A; ffmpeg pulls in ~95 packages), so the M4A is assembled box by box from
ISO/IEC 14496-12: ftyp, then moov (mvhd, trak with mdhd/hdlr/smhd/dinf and an stbl whose mp4a entry
has an esds for AAC-LC, 44.1 kHz, mono) BEFORE mdat. That order makes mutagen move the audio when the
tag grows and rewrite the stco chunk offset, which the tests check. The samples are ten copies of one
AAC-LC frame that encodes silence (checked to decode with ffmpeg when this was written).
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import wave
import zlib
from pathlib import Path

TOOLS = ("lame", "flac", "oggenc", "opusenc")
SAMPLE_RATE = 44100

# One AAC-LC mono frame of digital silence: a single channel element with global gain and no
# spectral data, then the END element, padded to a byte.
SILENT_AAC_FRAME = bytes.fromhex("01 40 20 07")
M4A_FRAMES = 10


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def write_wav(path: Path, seconds: float = 0.5) -> Path:
    """A 440 Hz mono 16-bit sine, short enough to encode in milliseconds."""
    count = int(SAMPLE_RATE * seconds)
    samples = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE))) for n in range(count)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples)
    return path


def encode_all(folder: Path) -> dict[str, Path]:
    """Untagged files of every format we tag, keyed by extension, plus the source WAV."""
    wav = write_wav(folder / "source.wav")
    files = {
        "mp3": folder / "plain.mp3",
        "flac": folder / "plain.flac",
        "ogg": folder / "plain.ogg",
        "opus": folder / "plain.opus",
    }
    commands = [
        ["lame", "--silent", "-b", "64", str(wav), str(files["mp3"])],
        ["flac", "--silent", "-f", "-o", str(files["flac"]), str(wav)],
        ["oggenc", "--quiet", "-o", str(files["ogg"]), str(wav)],
        ["opusenc", "--quiet", str(wav), str(files["opus"])],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    files["m4a"] = folder / "plain.m4a"
    files["m4a"].write_bytes(build_m4a())
    files["wav"] = wav
    return files


def lame_tagged_mp3(wav: Path, out: Path, title: str, artist: str) -> Path:
    """An MP3 whose ID3v2 tag lame wrote (version 2.3), as found on real sites."""
    command = [
        "lame",
        "--silent",
        "-b",
        "64",
        "--id3v2-only",
        "--tt",
        title,
        "--ta",
        artist,
        str(wav),
        str(out),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return out


# ---------------------------------------------------------------------------------------------------------
# M4A, box by box


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def descriptor(tag: int, body: bytes) -> bytes:
    """An MPEG-4 descriptor with a one-byte length (all ours are under 128 bytes)."""
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def build_m4a(frames: int = M4A_FRAMES) -> bytes:
    """A complete M4A file with moov before mdat; the offset in stco points at the first sample."""
    samples = [SILENT_AAC_FRAME] * frames
    duration = 1024 * frames  # in samples at the track's time scale (the sample rate)
    audio_specific_config = bytes([0x12, 0x08])  # AAC-LC, 44100 Hz (index 4), 1 channel
    decoder_config = descriptor(
        0x04,
        bytes([0x40, 0x15]) + (0).to_bytes(3, "big") + struct.pack(">II", 64000, 64000)
        + descriptor(0x05, audio_specific_config),
    )  # fmt: skip
    es_descriptor = descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config + descriptor(0x06, b"\x02"))
    mp4a = box(
        b"mp4a",
        bytes(6), struct.pack(">H", 1),  # reserved, data reference index
        bytes(8), struct.pack(">HHHH", 1, 16, 0, 0), struct.pack(">I", SAMPLE_RATE << 16),
        full_box(b"esds", 0, 0, es_descriptor),
    )  # fmt: skip

    def stbl(chunk_offset: int) -> bytes:
        return box(
            b"stbl",
            full_box(b"stsd", 0, 0, struct.pack(">I", 1), mp4a),
            full_box(b"stts", 0, 0, struct.pack(">III", 1, frames, 1024)),
            full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
            full_box(
                b"stsz", 0, 0, struct.pack(">II", 0, frames), *(struct.pack(">I", len(s)) for s in samples)
            ),
            full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        )

    def moov(chunk_offset: int) -> bytes:
        mvhd = full_box(
            b"mvhd", 0, 0,
            struct.pack(">IIII", 0, 0, SAMPLE_RATE, duration), struct.pack(">IH", 0x10000, 0x100), bytes(10),
            _MATRIX, bytes(24), struct.pack(">I", 2),
        )  # fmt: skip
        tkhd = full_box(
            b"tkhd", 0, 7,
            struct.pack(">IIII", 0, 0, 1, 0), struct.pack(">I", duration), bytes(8),
            struct.pack(">HHHH", 0, 0, 0x100, 0), _MATRIX, struct.pack(">II", 0, 0),
        )  # fmt: skip
        mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, SAMPLE_RATE, duration, 0x55C4, 0))
        hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"soun", bytes(12), b"SoundHandler\x00")
        dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
        minf = box(b"minf", full_box(b"smhd", 0, 0, struct.pack(">HH", 0, 0)), dinf, stbl(chunk_offset))
        return box(b"moov", mvhd, box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf)))

    ftyp = box(b"ftyp", b"M4A ", struct.pack(">I", 0), b"M4A mp42isom")
    head_length = len(ftyp) + len(moov(0)) + 8  # the offset's value never changes the boxes' sizes
    mdat = box(b"mdat", *samples)
    return ftyp + moov(head_length) + mdat


def m4a_first_chunk(data: bytes) -> bytes:
    """The bytes the stco offset points at, as many as the samples hold: where a player reads audio."""
    at = data.index(b"stco")
    (offset,) = struct.unpack(">I", data[at + 12 : at + 16])
    return data[offset : offset + len(SILENT_AAC_FRAME) * M4A_FRAMES]


# ---------------------------------------------------------------------------------------------------------
# Cover images


def png_bytes(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    """A real RGB PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A real baseline JPEG: one 8x8 grey block (width 8, height 8, one 8-bit component).

    Huffman tables with a single one-bit code each: DC category 0 (no difference) and AC end-of-block.
    The scan is those two bits, padded with ones: 0x3F.
    """
    dqt = b"\xff\xdb" + struct.pack(">HB", 67, 0) + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + bytes([1, 0x11, 0])
    counts = bytes([1] + [0] * 15)
    dht_dc = b"\xff\xc4" + struct.pack(">HB", 20, 0x00) + counts + b"\x00"
    dht_ac = b"\xff\xc4" + struct.pack(">HB", 20, 0x10) + counts + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + bytes([1, 0x00, 0, 63, 0])
    return b"\xff\xd8" + dqt + sof + dht_dc + dht_ac + sos + b"\x3f" + b"\xff\xd9"
