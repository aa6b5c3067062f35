"""Is this MPEG audio? A cheap look at the first bytes before mutagen reads a file as MP3. Pure.

mutagen's ``MP3`` scans up to a megabyte for frames and fails on data that only starts like an MP3
(an ID3v2 tag over noise). We decide from a window of bytes instead: an MP3 has, somewhere near its
start, ``FRAMES_NEEDED`` frame headers in a row, each where the previous frame's length says it ends.
Header fields per ISO/IEC 11172-3 and 13818-3 (version, layer, bitrate index, sampling rate, padding).
"""

from __future__ import annotations

__all__ = ["FRAMES_NEEDED", "MPEG_WINDOW", "has_mpeg_frames"]

MPEG_WINDOW = 64 * 1024
"""Bytes (after any ID3v2 tag) searched for the first frame."""

FRAMES_NEEDED = 3

# Bitrates in kbit/s by (MPEG-1?, layer) for bitrate indexes 1-14 (0 is "free", 15 is invalid).
_V1 = {
    1: (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    2: (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    3: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
}
_V2 = {
    1: (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    2: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    3: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits
_LAYERS = {3: 1, 2: 2, 1: 3}  # layer bits -> layer


def frame_length(data: bytes, pos: int) -> int | None:
    """Length in bytes of the MPEG audio frame whose header starts at ``pos``; None if there is none."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
    bitrate_index, rate_index, padding = (
        data[pos + 2] >> 4,
        (data[pos + 2] >> 2) & 3,
        (data[pos + 2] >> 1) & 1,
    )
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = _LAYERS[layer_bits]
    bitrate = (_V1 if version == 3 else _V2)[layer][bitrate_index - 1] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 144 if version == 3 or layer == 2 else 72
    return per_frame * bitrate // rate + padding


def has_mpeg_frames(data: bytes) -> bool:
    """True when ``FRAMES_NEEDED`` consecutive frame headers start within the first ``MPEG_WINDOW`` bytes."""
    pos = data.find(b"\xff", 0, MPEG_WINDOW)
    while pos != -1:
        at, count = pos, 0
        while count < FRAMES_NEEDED and (length := frame_length(data, at)) is not None:
            at, count = at + length, count + 1
        if count == FRAMES_NEEDED:
            return True
        pos = data.find(b"\xff", pos + 1, MPEG_WINDOW)
    return False
