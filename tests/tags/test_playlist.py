"""The ``00 - Album.m3u8`` playlist: exact text and file names."""

from __future__ import annotations

import pytest

from audiofetch.naming import track_filename
from audiofetch.tags import PlaylistEntry, m3u8_playlist, playlist_filename


def test_playlist_text_is_exact() -> None:
    text = m3u8_playlist(
        [
            PlaylistEntry("01 - Intro.mp3", "Intro", 61.4),
            PlaylistEntry("02 - Café del Mar.ogg", "Café del Mar — 夜", 200.5),
            PlaylistEntry("03 - Two lines.m4a", "Two\nlines\r\nhere\u2028too", None),
            PlaylistEntry("Disc 2/04 - No title.flac", None, 0),
            PlaylistEntry("#5 Hit.opus", "Number five", 3.0),
        ]
    )
    assert text == (
        "#EXTM3U\n"
        "#EXTINF:61,Intro\n"
        "01 - Intro.mp3\n"
        "#EXTINF:200,Café del Mar — 夜\n"  # round half to even: 200.5 -> 200
        "02 - Café del Mar.ogg\n"
        "#EXTINF:-1,Two lines here too\n"
        "03 - Two lines.m4a\n"
        "#EXTINF:-1,04 - No title\n"
        "Disc 2/04 - No title.flac\n"
        "#EXTINF:3,Number five\n"
        "./#5 Hit.opus\n"
    )
    assert text.encode("utf-8").decode("utf-8") == text


def test_empty_playlist_is_just_the_header() -> None:
    assert m3u8_playlist([]) == "#EXTM3U\n"


@pytest.mark.parametrize("path", ["", "/etc/passwd", "\\\\server\\x.mp3", "a\nb.mp3", "a\rb.mp3"])
def test_paths_that_cannot_be_written_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="relative and on one line"):
        m3u8_playlist([PlaylistEntry(path, "t", 1)])


@pytest.mark.parametrize("duration", [float("nan"), float("inf"), -3.0, 0.0])
def test_unknown_or_nonsense_durations_are_minus_one(duration: float) -> None:
    assert "#EXTINF:-1,t\n" in m3u8_playlist([PlaylistEntry("a.mp3", "t", duration)])


@pytest.mark.parametrize(
    ("total", "album", "name"),
    [
        (12, "The Album", "00 - The Album.m3u8"),
        (3, None, "00 - Playlist.m3u8"),
        (150, "Big/Box: Set", "000 - Big-Box - Set.m3u8"),
        (5, "  ...  ", "00 - Playlist.m3u8"),
        (5, "Åsa\nNisse", "00 - Åsa Nisse.m3u8"),
    ],
)
def test_playlist_filename(total: int, album: str | None, name: str) -> None:
    assert playlist_filename(total, album) == name


def test_playlist_sorts_before_the_tracks() -> None:
    names = [track_filename(i, 150, f"T{i}", "mp3") for i in (1, 2, 150)]
    assert sorted([*names, playlist_filename(150, "Zzz")])[0] == "000 - Zzz.m3u8"


def test_playlist_filename_stays_within_255_bytes() -> None:
    name = playlist_filename(10, "ä" * 300)
    assert len(name.encode("utf-8")) <= 255
    assert name.startswith("00 - ä") and name.endswith(".m3u8")
