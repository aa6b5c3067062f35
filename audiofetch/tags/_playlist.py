"""The ``00 - Album.m3u8`` playlist every folder and ZIP gets: the tracks in page order. Pure.

Extended M3U in UTF-8 (the ``.m3u8`` extension says so; no BOM), ``\\n`` line ends: ``#EXTM3U``,
then per track ``#EXTINF:<seconds>,<title>`` and the track's path relative to the playlist. Paths
are written as they are (no percent-encoding): players resolve them against the playlist's folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from audiofetch.naming import sanitize_name, split_extension

__all__ = ["PlaylistEntry", "m3u8_playlist", "playlist_filename"]

# Everything str.splitlines() breaks on, so no title can start a line of its own in any reader.
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class PlaylistEntry:
    """One line pair of the playlist: a relative path (``/``-separated), a title, a length in seconds."""

    path: str
    title: str | None = None
    duration: float | None = None


def _extinf_seconds(duration: float | None) -> int:
    """Whole seconds, rounded; -1 (the M3U "unknown") when missing, not positive or not finite."""
    if duration is None or not math.isfinite(duration) or duration <= 0:
        return -1
    return round(duration)


def _one_line(title: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", title).split())


def m3u8_playlist(entries: Iterable[PlaylistEntry]) -> str:
    """The playlist text, one ``#EXTINF`` and path per entry, in the order given.

    A missing title falls back to the file name without its extension; line breaks inside titles
    become spaces. A path starting with ``#`` gets ``./`` so it is not read as a comment. Raises
    ValueError for a path that is empty, absolute or contains a line break (it cannot be written).
    """
    lines = ["#EXTM3U"]
    for entry in entries:
        path = entry.path
        if not path or path.startswith(("/", "\\")) or _LINE_BREAKS.search(path):
            raise ValueError(f"playlist paths must be relative and on one line: {path!r}")
        leaf = path.rsplit("/", 1)[-1]
        title = _one_line(entry.title or "") or _one_line(split_extension(leaf)[0])
        lines.append(f"#EXTINF:{_extinf_seconds(entry.duration)},{title}")
        lines.append(f"./{path}" if path.startswith("#") else path)
    return "\n".join(lines) + "\n"


def playlist_filename(track_total: int, album: str | None) -> str:
    """``"00 - Album.m3u8"``: numbered 0 with the tracks' zero-padding, so it sorts before track 01.

    The width matches :func:`audiofetch.naming.track_filename` for ``track_total`` tracks
    (``max(2, digits)``); a missing album becomes ``Playlist``. The result is a safe file name.
    """
    zeros = "0" * max(2, len(str(max(track_total, 0))))
    album_name = sanitize_name(album or "", fallback="Playlist")
    return sanitize_name(f"{zeros} - {album_name}.m3u8")
