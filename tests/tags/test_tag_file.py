"""tag_file on real files of every format, read back with mutagen's own classes."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, TIT2, TPE1, TRCK, Encoding
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from audiofetch.tags import Cover, TrackTags, cover_from_bytes, tag_file
from tests.tags.tag_media import jpeg_bytes, lame_tagged_mp3, m4a_first_chunk, png_bytes

FORMATS = ["mp3", "m4a", "flac", "ogg", "opus"]
PNG = cover_from_bytes(png_bytes())
JPEG = cover_from_bytes(jpeg_bytes())
assert PNG is not None and JPEG is not None

PAGE = TrackTags(
    title="Søng — 夜", artist="Ünïcode Artist", album="The Album", track_number=3, track_total=12, cover=JPEG
)


@dataclass(frozen=True)
class ReadBack:
    title: str | None
    artist: str | None
    album: str | None
    number: int | None
    total: int | None
    covers: list[tuple[str, bytes]]


def _first(values: object) -> str | None:
    return str(values[0]) if values else None  # type: ignore[index]


def read_back(path: Path) -> ReadBack:
    """The tags as mutagen reads them, through each format's own keys (not through our adapters)."""
    ext = path.suffix[1:]
    if ext == "mp3":
        id3 = ID3(path)
        trck = str(id3["TRCK"]) if "TRCK" in id3 else ""
        number, _, total = trck.partition("/")
        return ReadBack(
            title=str(id3["TIT2"]) if "TIT2" in id3 else None,
            artist=str(id3["TPE1"]) if "TPE1" in id3 else None,
            album=str(id3["TALB"]) if "TALB" in id3 else None,
            number=int(number) if number else None,
            total=int(total) if total else None,
            covers=[(pic.mime, pic.data) for pic in id3.getall("APIC")],
        )
    if ext == "m4a":
        tags: Any = MP4(path).tags or {}
        pair = tags.get("trkn", [(0, 0)])[0]
        mimes = {MP4Cover.FORMAT_JPEG: "image/jpeg", MP4Cover.FORMAT_PNG: "image/png"}
        return ReadBack(
            title=_first(tags.get("\xa9nam")),
            artist=_first(tags.get("\xa9ART")),
            album=_first(tags.get("\xa9alb")),
            number=pair[0] or None,
            total=pair[1] or None,
            covers=[(mimes[cover.imageformat], bytes(cover)) for cover in tags.get("covr", [])],
        )
    kinds = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}
    audio: Any = kinds[ext](path)
    comments = audio.tags
    if ext == "flac":
        pictures = list(audio.pictures)
    else:
        pictures = [Picture(base64.b64decode(v)) for v in comments.get("metadata_block_picture", [])]
    total_text = _first(comments.get("tracktotal"))
    number_text = _first(comments.get("tracknumber"))
    return ReadBack(
        title=_first(comments.get("title")),
        artist=_first(comments.get("artist")),
        album=_first(comments.get("album")),
        number=int(number_text) if number_text else None,
        total=int(total_text) if total_text else None,
        covers=[(pic.mime, pic.data) for pic in pictures],
    )


def assert_audio_intact(path: Path, original: bytes) -> None:
    """The audio still decodes (each format's own Debian tool), and MP3/M4A audio bytes are unchanged."""
    ext = path.suffix[1:]
    data = path.read_bytes()
    if ext == "mp3":
        tag_size = ID3(path).size
        assert data[tag_size:] == original
    elif ext == "m4a":
        assert m4a_first_chunk(data) == m4a_first_chunk(original)  # mutagen moved mdat and fixed stco
        assert MP4(path).info.length == pytest.approx(10 * 1024 / 44100)  # type: ignore[attr-defined]  # mutagen types info as optional
    else:
        tool = {"flac": ["flac", "-t", "--silent"], "ogg": ["ogginfo", "-q"], "opus": ["opusinfo", "-q"]}[ext]
        subprocess.run([*tool, str(path)], check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("ext", FORMATS)
def test_tag_file_writes_every_field_and_the_cover(media: dict[str, Path], ext: str) -> None:
    path = media[ext]
    original = path.read_bytes()

    assert tag_file(path, PAGE) is True

    got = read_back(path)
    assert (got.title, got.artist, got.album) == ("Søng — 夜", "Ünïcode Artist", "The Album")
    assert (got.number, got.total) == (3, 12)
    assert got.covers == [("image/jpeg", jpeg_bytes())]
    assert_audio_intact(path, original)


def test_mp3_gets_id3v24_with_utf8_frames_and_n_of_total(media: dict[str, Path]) -> None:
    path = media["mp3"]
    assert tag_file(path, PAGE)

    id3 = ID3(path)
    assert id3.version == (2, 4, 0)
    assert id3["TRCK"].text == ["3/12"]
    assert all(id3[key].encoding == Encoding.UTF8 for key in ("TIT2", "TPE1", "TALB", "TRCK"))
    assert id3.getall("APIC")[0].type == 3
    assert MP3(path).info.length > 0.4  # type: ignore[attr-defined]


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "opus"])
def test_png_cover_keeps_its_type_and_pixel_size(media: dict[str, Path], ext: str) -> None:
    assert tag_file(media[ext], TrackTags(title="x", cover=PNG))
    assert read_back(media[ext]).covers == [("image/png", png_bytes())]
    if ext == "flac":
        picture = FLAC(media[ext]).pictures[0]
        assert (picture.width, picture.height, picture.depth, picture.type) == (3, 2, 24, 3)


def test_m4a_png_cover_is_stored_as_png(media: dict[str, Path]) -> None:
    assert tag_file(media["m4a"], TrackTags(cover=PNG, title="x"))
    assert MP4(media["m4a"]).tags["covr"][0].imageformat == MP4Cover.FORMAT_PNG  # type: ignore[index]


def _preset(path: Path, *, title: str, artist: str, number: int, cover: Cover | None) -> None:
    assert cover is not None, "the covers are made at import"
    """Tags another tool left in the file, written with mutagen directly (not through tag_file)."""
    ext = path.suffix[1:]
    if ext == "mp3":
        id3 = ID3()
        id3.add(TIT2(encoding=3, text=[title]))
        id3.add(TPE1(encoding=3, text=[artist]))
        id3.add(TRCK(encoding=3, text=[str(number)]))
        id3.add(APIC(encoding=3, mime=cover.mime, type=3, desc="", data=cover.data))
        id3.save(path)
        return
    if ext == "m4a":
        mp4: Any = MP4(path)
        mp4.add_tags()
        mp4.tags.update(
            {
                "\xa9nam": [title],
                "\xa9ART": [artist],
                "trkn": [(number, 0)],
                "covr": [MP4Cover(cover.data, 14)],
            }
        )
        mp4.save()
        return
    audio: Any = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[ext](path)
    audio.tags["title"], audio.tags["artist"], audio.tags["tracknumber"] = [title], [artist], [str(number)]
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, cover.mime, cover.data
    if ext == "flac":
        audio.add_picture(picture)
    else:
        audio.tags["metadata_block_picture"] = [base64.b64encode(picture.write()).decode()]
    audio.save()


@pytest.mark.parametrize("ext", FORMATS)
def test_real_existing_tags_are_kept_and_gaps_and_placeholders_filled(
    media: dict[str, Path], ext: str
) -> None:
    path = media[ext]
    _preset(path, title="Studio Title", artist="Unknown Artist", number=5, cover=PNG)

    assert tag_file(path, PAGE)

    got = read_back(path)
    assert got.title == "Studio Title"  # a real value stays
    assert got.artist == "Ünïcode Artist"  # a placeholder is replaced
    assert got.album == "The Album"  # a gap is filled
    assert (got.number, got.total) == (5, None)  # page's 3/12 belongs to another numbering
    assert got.covers == [("image/png", png_bytes())]  # the file's own cover stays


@pytest.mark.parametrize("ext", FORMATS)
def test_overwrite_existing_replaces_real_values_and_the_front_cover(
    media: dict[str, Path], ext: str
) -> None:
    path = media[ext]
    _preset(path, title="Studio Title", artist="Band", number=5, cover=PNG)

    assert tag_file(path, PAGE, overwrite_existing=True)

    got = read_back(path)
    assert (got.title, got.artist, got.number, got.total) == ("Søng — 夜", "Ünïcode Artist", 3, 12)
    assert got.covers == [("image/jpeg", jpeg_bytes())]


def test_title_equal_to_the_file_name_counts_as_a_placeholder(media: dict[str, Path]) -> None:
    path = media["flac"]
    audio: Any = FLAC(path)
    audio.tags["title"] = ["03 - Song"]
    audio.save()

    assert tag_file(path, TrackTags(title="Song"))
    assert read_back(path).title == "Song"


def test_total_is_added_when_the_numbers_agree(media: dict[str, Path]) -> None:
    path = media["mp3"]
    id3 = ID3()
    id3.add(TRCK(encoding=3, text=["3"]))
    id3.save(path)

    assert tag_file(path, TrackTags(track_number=3, track_total=12))
    assert ID3(path)["TRCK"].text == ["3/12"]


def test_mp3_tagged_by_lame_is_upgraded_to_id3v24_and_keeps_its_values(
    encoded: dict[str, Path], tmp_path: Path
) -> None:
    path = lame_tagged_mp3(encoded["wav"], tmp_path / "song.mp3", "Lame Title", "Lame Artist")
    assert ID3(path).version[:2] == (2, 3)

    assert tag_file(path, PAGE)

    id3 = ID3(path)
    assert id3.version == (2, 4, 0)
    assert (str(id3["TIT2"]), str(id3["TPE1"]), str(id3["TALB"])) == (
        "Lame Title",
        "Lame Artist",
        "The Album",
    )


def test_a_file_already_right_is_not_rewritten(media: dict[str, Path]) -> None:
    path = media["ogg"]
    assert tag_file(path, PAGE)
    before = path.stat()

    assert tag_file(path, PAGE) is True
    assert path.stat().st_ino == before.st_ino  # not replaced by a tagged copy
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_tagging_replaces_the_file_atomically_and_keeps_its_mode(media: dict[str, Path]) -> None:
    path = media["flac"]
    path.chmod(0o640)
    inode = path.stat().st_ino

    assert tag_file(path, PAGE)
    assert path.stat().st_ino != inode  # a tagged copy was renamed over it
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        f"03 - Song.{e}" for e in [*FORMATS, "wav"]
    )


def test_part_file_is_tagged_by_its_content_not_its_name(media: dict[str, Path]) -> None:
    part = media["mp3"].with_name("03 - Song.mp3.part")
    media["mp3"].rename(part)

    assert tag_file(part, PAGE, display_name="03 - Song.mp3")
    assert str(ID3(part)["TIT2"]) == "Søng — 夜"


@pytest.mark.parametrize("ext", ["wav", "broken-mp3", "broken-flac", "html", "missing"])
def test_unsupported_or_damaged_files_return_false_and_stay_byte_for_byte(
    media: dict[str, Path], tmp_path: Path, ext: str, caplog: pytest.LogCaptureFixture
) -> None:
    if ext == "wav":
        path = media["wav"]
    elif ext == "missing":
        path = tmp_path / "gone.mp3"
    else:
        path = tmp_path / f"bad.{ext}"
        content = {
            "broken-mp3": b"ID3\x04\x00\x00\x00\x00\x00\x05hello" + b"\x00" * 300,
            "broken-flac": media["flac"].read_bytes()[:60],
            "html": b"<!doctype html><html><body>Not found</body></html>",
        }[ext]
        path.write_bytes(content)
    before = path.read_bytes() if path.exists() else None
    listing = sorted(tmp_path.iterdir())

    with caplog.at_level(logging.INFO, logger="audiofetch.tags"):
        assert tag_file(path, PAGE) is False

    assert (path.read_bytes() if path.exists() else None) == before
    assert sorted(tmp_path.iterdir()) == listing  # no temporary copy left behind
    assert any("not tagged" in record.getMessage() for record in caplog.records)


def test_a_failed_write_leaves_the_original_and_no_temporary_file(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = media["mp3"]
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # fault injection: the last step before the rename fails
    assert tag_file(path, PAGE) is False

    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tagging")]


def test_empty_tags_leave_a_supported_file_alone(media: dict[str, Path]) -> None:
    before = media["m4a"].read_bytes()
    assert tag_file(media["m4a"], TrackTags()) is True
    assert media["m4a"].read_bytes() == before
