"""MPEG-TS to audio elementary stream: the audio PES payloads of a transport stream, in order. Pure.

HLS audio in ``.ts`` segments is ADTS AAC (or MPEG audio) cut into 188-byte packets. The PAT names the
PMT, the PMT names the audio PID, and the payloads of that PID's PES packets, without their PES headers,
are the original ADTS frames. State is kept across ``feed`` calls, so segments are fed in order and a
PES may span them. Duplicate packets (same continuity counter repeated) are dropped, as ISO 13818-1 says.
"""

from __future__ import annotations

from typing import Final

__all__ = ["PACKET_SIZE", "AudioDemuxer", "DemuxError", "looks_like_ts"]

PACKET_SIZE: Final = 188
SYNC: Final = 0x47
# PMT stream types we can write to a file as they are: ADTS AAC, MPEG-1 and MPEG-2 audio (MP3).
AUDIO_STREAM_TYPES: Final = {0x0F: "aac", 0x03: "mp3", 0x04: "mp3"}


class DemuxError(ValueError):
    """The transport stream cannot be turned into audio (one line for a person)."""


def looks_like_ts(data: bytes) -> bool:
    """True when ``data`` starts like a transport stream (sync bytes 188 bytes apart)."""
    if not data or data[0] != SYNC:
        return False
    return len(data) < 2 * PACKET_SIZE or data[PACKET_SIZE] == SYNC


def _section(payload: bytes, table_id: int) -> bytes | None:
    """The body of a PSI section (after its 3-byte header, CRC left out), or None if not that table."""
    if not payload:
        return None
    start = 1 + payload[0]  # pointer_field
    if start + 3 > len(payload) or payload[start] != table_id:
        return None
    length = ((payload[start + 1] & 0x0F) << 8) | payload[start + 2]
    return payload[start + 3 : start + 3 + length][:-4]


class AudioDemuxer:
    """Feed TS bytes in order; get the audio elementary stream bytes back."""

    def __init__(self) -> None:
        self.codec: str | None = None
        self._pmt_pids: set[int] = set()
        self._audio_pid: int | None = None
        self._continuity: int | None = None
        self._in_pes = False
        self._header: bytearray | None = None  # PES header bytes still being gathered
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        """The audio bytes ``data`` completes; raises ``DemuxError`` on a broken stream."""
        data = self._carry + data
        whole = len(data) - len(data) % PACKET_SIZE
        self._carry = data[whole:]
        out = bytearray()
        for start in range(0, whole, PACKET_SIZE):
            self._packet(data[start : start + PACKET_SIZE], out)
        return bytes(out)

    def finish(self) -> None:
        """Check that the stream ended cleanly; raises ``DemuxError`` otherwise."""
        if self._carry:
            raise DemuxError("the transport stream ends with a partial packet")
        if self._audio_pid is None:
            raise DemuxError("the transport stream carries no audio we can save (AAC or MP3)")

    def _packet(self, packet: bytes, out: bytearray) -> None:
        if packet[0] != SYNC:
            raise DemuxError("the transport stream lost its packet sync")
        unit_start = bool(packet[1] & 0x40)
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x3
        if not control & 0x1:  # adaptation field only, or reserved: no payload
            return
        offset = 4 + (1 + packet[4] if control & 0x2 else 0)
        payload = packet[offset:]
        if pid == 0 and unit_start:
            self._read_pat(payload)
        elif pid in self._pmt_pids and unit_start and self._audio_pid is None:
            self._read_pmt(payload)
        elif pid == self._audio_pid:
            counter = packet[3] & 0x0F
            if counter == self._continuity:  # a duplicate packet: its payload was already taken
                return
            self._continuity = counter
            self._audio(payload, unit_start, out)

    def _read_pat(self, payload: bytes) -> None:
        body = _section(payload, 0x00)
        if body is None:
            return
        entries = body[5:]
        for start in range(0, len(entries) - 3, 4):
            program = (entries[start] << 8) | entries[start + 1]
            if program != 0:  # program 0 names the network PID
                self._pmt_pids.add(((entries[start + 2] & 0x1F) << 8) | entries[start + 3])

    def _read_pmt(self, payload: bytes) -> None:
        body = _section(payload, 0x02)
        if body is None or len(body) < 9:
            return
        info_length = ((body[7] & 0x0F) << 8) | body[8]
        position = 9 + info_length
        while position + 5 <= len(body):
            stream_type = body[position]
            pid = ((body[position + 1] & 0x1F) << 8) | body[position + 2]
            if stream_type in AUDIO_STREAM_TYPES:
                self._audio_pid, self.codec = pid, AUDIO_STREAM_TYPES[stream_type]
                return
            position += 5 + (((body[position + 3] & 0x0F) << 8) | body[position + 4])

    def _audio(self, payload: bytes, unit_start: bool, out: bytearray) -> None:
        if unit_start:
            self._in_pes, self._header = True, bytearray()
        if not self._in_pes:  # the stream was cut mid-PES: wait for the next PES to start
            return
        if self._header is not None:
            self._header += payload
            if len(self._header) < 9:
                return
            if self._header[:3] != b"\x00\x00\x01":
                raise DemuxError("the audio stream holds a packet that is not PES")
            skip = 9 + self._header[8]
            if len(self._header) < skip:
                return
            payload = bytes(self._header[skip:])
            self._header = None  # header done: later payloads of this PES pass straight through
        out += payload
