"""The pure parts: the "better data" rule and cover checks."""

from __future__ import annotations

import pytest

from audiofetch.tags import MAX_COVER_BYTES, TrackTags, cover_from_bytes, is_placeholder
from audiofetch.tags._merge import Existing, plan_updates
from tests.tags.tag_media import jpeg_bytes, png_bytes


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "Track 01", "track07", "Audio Track", "Track", "Untitled", "untitled 3",
     "Unknown", "Unknown Artist", "<unknown>", "No Title", "N/A", "07", "take_3_final.WAV",
     "03 - Song", "03 - Song.mp3"],
)  # fmt: skip
def test_placeholders(value: str | None) -> None:
    assert is_placeholder(value, "03 - Song.mp3")


@pytest.mark.parametrize(
    "value", ["Song", "Various Artists", "Track of the Year", "Trackmania", "Nanana", "Mr. Blue"]
)
def test_real_values(value: str) -> None:
    assert not is_placeholder(value, "03 - Song.mp3")


def test_plan_fills_gaps_and_keeps_real_values() -> None:
    existing = Existing(title="Real", artist="Unknown Artist", track_number=None, has_picture=True)
    page = TrackTags(title="Page", artist="Band", album="LP", track_number=2, track_total=9, cover=None)
    plan = plan_updates(existing, page, file_name="02 - Page.mp3", overwrite=False)
    assert plan == TrackTags(title=None, artist="Band", album="LP", track_number=2, track_total=9)


def test_plan_is_empty_when_the_file_already_agrees() -> None:
    existing = Existing(title="Page", artist="Band", album="LP", track_number=2, track_total=9)
    page = TrackTags(title="Page", artist="Band", album="LP", track_number=2, track_total=9)
    assert plan_updates(existing, page, file_name="x.mp3", overwrite=True).empty


@pytest.mark.parametrize(
    ("existing", "page", "overwrite", "pair"),
    [
        ((None, None), (3, 12), False, (3, 12)),
        ((3, None), (3, 12), False, (3, 12)),  # same number: the total is added
        ((5, None), (3, 12), False, (None, None)),  # other numbering: untouched
        ((5, 7), (3, 12), True, (3, 12)),
        ((5, 7), (None, None), True, (None, None)),
        ((0, 0), (3, None), False, (3, None)),  # 0 means missing
        ((5, 7), (5, None), True, (None, None)),  # overwriting with nothing new keeps the total
    ],
)
def test_track_pair_rule(
    existing: tuple[int | None, int | None],
    page: tuple[int | None, int | None],
    overwrite: bool,
    pair: tuple[int | None, int | None],
) -> None:
    plan = plan_updates(
        Existing(track_number=existing[0], track_total=existing[1]),
        TrackTags(track_number=page[0], track_total=page[1]),
        file_name="x.mp3",
        overwrite=overwrite,
    )
    assert (plan.track_number, plan.track_total) == pair


def test_cover_is_added_only_when_the_file_has_none_unless_overwriting() -> None:
    cover = cover_from_bytes(png_bytes())
    page = TrackTags(cover=cover)
    assert plan_updates(Existing(has_picture=False), page, file_name="a", overwrite=False).cover == cover
    assert plan_updates(Existing(has_picture=True), page, file_name="a", overwrite=False).cover is None
    assert plan_updates(Existing(has_picture=True), page, file_name="a", overwrite=True).cover == cover


def test_cover_type_comes_from_the_bytes_with_pixel_size() -> None:
    png = cover_from_bytes(png_bytes(5, 4), "application/octet-stream")
    jpeg = cover_from_bytes(jpeg_bytes(), "image/png")
    assert png is not None and (png.mime, png.width, png.height, png.depth) == ("image/png", 5, 4, 24)
    assert jpeg is not None and (jpeg.mime, jpeg.width, jpeg.height, jpeg.depth) == ("image/jpeg", 8, 8, 8)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!doctype html><p>404",
        b"GIF89a" + bytes(20),
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"\x89PNG\r\n\x1a\n" * 2,
    ],
)
def test_non_covers_are_refused(data: bytes) -> None:
    cover = cover_from_bytes(data, "image/jpeg")
    assert cover is None or cover.width == 0  # a cut-short PNG header is still a PNG, just of unknown size


def test_oversized_cover_is_refused() -> None:
    assert cover_from_bytes(png_bytes() + bytes(MAX_COVER_BYTES), "image/png") is None
