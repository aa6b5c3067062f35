"""HLS segments into one file's bytes: AES-128 decryption, then TS demuxing or plain concatenation. Pure.

- fMP4 (the playlist has ``EXT-X-MAP``): init section then media segments, as they are (``.m4a``).
- MPEG-TS segments: the audio elementary stream taken out of the packets (``.aac``, or ``.mp3``).
- Packed audio (raw ADTS/MP3 segments): concatenated, minus the ID3 timestamp tag HLS puts at the start
  of each one (RFC 8216 section 3.4), which would otherwise sit between audio frames.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from audiofetch.formats import sniff

from ._mpegts import AudioDemuxer, DemuxError, looks_like_ts

__all__ = ["AES_BLOCK", "JoinError", "SegmentJoiner", "decrypt_aes128", "default_iv", "strip_id3"]

AES_BLOCK = 16


class JoinError(ValueError):
    """Segments that cannot be joined (bad padding, an unreadable stream); one line for a person."""


def default_iv(sequence: int) -> bytes:
    """The IV HLS uses when the key gives none: the media sequence number, 16 bytes big-endian."""
    return sequence.to_bytes(AES_BLOCK, "big")


def decrypt_aes128(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC decryption with PKCS7 padding removed; ``JoinError`` when the result is not padded
    properly (wrong key or IV, or a cut segment)."""
    if len(key) != AES_BLOCK:
        raise JoinError(f"the decryption key is {len(key)} bytes long, not {AES_BLOCK}")
    if not data or len(data) % AES_BLOCK:
        raise JoinError("an encrypted segment is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= AES_BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise JoinError("a segment did not decrypt (wrong key or IV)")
    return plain[:-pad]


def strip_id3(data: bytes) -> bytes:
    """``data`` without a leading ID3v2 tag (header, body and footer), if it has one."""
    if len(data) < 10 or data[:3] != b"ID3" or any(byte & 0x80 for byte in data[6:10]):
        return data
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    footer = 10 if data[5] & 0x10 else 0
    return data[10 + size + footer :]


class SegmentJoiner:
    """Turns decrypted segments, given in playlist order, into the bytes of one audio file."""

    def __init__(self, *, fmp4: bool) -> None:
        self._fmp4 = fmp4
        self._demuxer: AudioDemuxer | None = None
        self._head = b""

    def add(self, data: bytes) -> bytes:
        """The bytes this segment adds to the file (TS demuxed, packed audio without its ID3 tag)."""
        if self._fmp4:
            out = data
        elif self._demuxer is not None or looks_like_ts(data):
            self._demuxer = self._demuxer or AudioDemuxer()
            try:
                out = self._demuxer.feed(data)
            except DemuxError as exc:
                raise JoinError(str(exc)) from exc
        else:
            out = strip_id3(data)
        if len(self._head) < 64:
            self._head += out[: 64 - len(self._head)]
        return out

    def finish(self) -> None:
        """Check the stream ended cleanly; ``JoinError`` otherwise."""
        if self._demuxer is not None:
            try:
                self._demuxer.finish()
            except DemuxError as exc:
                raise JoinError(str(exc)) from exc

    @property
    def extension(self) -> str:
        """``m4a`` for fMP4; else what the audio bytes are (``aac`` or ``mp3``), ``aac`` when unsure."""
        if self._fmp4:
            return "m4a"
        found = sniff(self._head)
        if found is not None and found.ext in ("aac", "mp3"):
            return found.ext
        if self._demuxer is not None and self._demuxer.codec:
            return self._demuxer.codec
        return "aac"
