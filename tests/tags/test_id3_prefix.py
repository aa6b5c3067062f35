"""The ID3v2.4 prefix for streamed MP3s: read back with mutagen, decoded by lame, sizes exact."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from audiofetch.tags import (
    ID3V2_HEADER_BYTES,
    TrackTags,
    cover_from_bytes,
    existing_id3v2_length,
    id3v2_prefix,
    mp3_stream_prefix,
)
from tests.tags.tag_media import jpeg_bytes, lame_tagged_mp3

TAGS = TrackTags(
    title="Ünïcode “Title”",
    artist="Artist",
    album="Album ☃",
    track_number=7,
    track_total=9,
    cover=cover_from_bytes(jpeg_bytes()),
)


def decode(path: Path) -> bytes:
    """PCM as lame decodes it: what a listener hears."""
    out = path.with_suffix(".decoded.wav")
    subprocess.run(
        ["lame", "--silent", "--decode", str(path), str(out)], check=True, capture_output=True, timeout=60
    )
    return out.read_bytes()


def test_prefix_plus_upstream_bytes_is_a_tagged_mp3_with_the_same_audio(
    encoded: dict[str, Path], tmp_path: Path
) -> None:
    upstream = encoded["mp3"].read_bytes()
    assert existing_id3v2_length(upstream) is None  # lame wrote no tag

    prefix = mp3_stream_prefix(TAGS, upstream[:ID3V2_HEADER_BYTES])
    streamed = tmp_path / "streamed.mp3"
    streamed.write_bytes(prefix + upstream)

    assert len(streamed.read_bytes()) == len(prefix) + len(upstream)  # the announced Content-Length
    id3 = ID3(streamed)
    assert id3.version == (2, 4, 0)
    assert id3.size == len(prefix) == existing_id3v2_length(prefix)
    assert (str(id3["TIT2"]), str(id3["TPE1"]), str(id3["TALB"])) == ("Ünïcode “Title”", "Artist", "Album ☃")
    assert id3["TRCK"].text == ["7/9"]
    assert id3.getall("APIC")[0].data == jpeg_bytes()
    assert streamed.read_bytes()[len(prefix) :] == upstream
    assert MP3(streamed).info.length == pytest.approx(MP3(encoded["mp3"]).info.length)  # type: ignore[attr-defined]
    assert decode(streamed) == decode(encoded["mp3"])


def test_prefix_is_deterministic_and_uses_utf8_frames() -> None:
    prefix = id3v2_prefix(TAGS)
    assert prefix == id3v2_prefix(TAGS)
    assert prefix[:5] == b"ID3\x04\x00"
    assert b"TIT2" in prefix and "Ünïcode “Title”".encode() in prefix


def test_prefix_for_empty_tags_is_empty() -> None:
    assert id3v2_prefix(TrackTags()) == b""
    assert mp3_stream_prefix(TrackTags(), b"\xff\xfb\x50\xc4" + bytes(6)) == b""


def test_upstream_tag_is_kept_and_nothing_is_prepended(encoded: dict[str, Path], tmp_path: Path) -> None:
    path = lame_tagged_mp3(encoded["wav"], tmp_path / "tagged.mp3", "Theirs", "Them")
    upstream = path.read_bytes()

    assert existing_id3v2_length(upstream[:ID3V2_HEADER_BYTES]) == ID3(path).size
    assert mp3_stream_prefix(TAGS, upstream[:ID3V2_HEADER_BYTES]) == b""


@pytest.mark.parametrize(
    ("head", "length"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x01\x00", 10 + 128),  # syncsafe: 0x01 0x00 is 128
        (b"ID3\x04\x00\x10\x00\x00\x01\x00", 10 + 128 + 10),  # v2.4 footer flag adds 10 bytes
        (b"ID3\x03\x00\x10\x00\x00\x00\x05", 10 + 5),  # bit 4 is not a footer flag in v2.3
        (b"ID3\x02\x00\x00\x7f\x7f\x7f\x7f", 10 + (1 << 28) - 1),
        (b"ID3\x04\x00\x00\x00\x00\x80\x00", None),  # not syncsafe
        (b"ID3\x05\x00\x00\x00\x00\x00\x01", None),  # unknown version
        (b"ID3\x04\xff\x00\x00\x00\x00\x01", None),
        (b"ID3\x04\x00\x00\x00\x00", None),  # too short to decide
        (b"\xff\xfb\x50\xc4\x00\x00\x00\x00\x00\x00", None),
        (b"", None),
    ],
)
def test_existing_id3v2_length(head: bytes, length: int | None) -> None:
    assert existing_id3v2_length(head) == length
