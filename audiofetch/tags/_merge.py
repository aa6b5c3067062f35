"""The "better data" rule: which of the page's tags replace what a file already carries. Pure.

A field the page gives is written when the file lacks it, when the file's value is a placeholder, or
when the caller asks to overwrite. A placeholder is a value no person chose: empty or blank; a bare
number; ``Track 7``/``Audio Track``/``Untitled``/``Unknown``/``Unknown Artist``/``<unknown>``/``No
Title``; the file's own name with or without its extension; anything ending in an audio extension
(``take_3_final.wav``, what encoders copy from the source file name). Artist names like ``Various
Artists`` are real data and kept.

Track number and total form one field: a file numbered ``5`` keeps its number, and gets the page's
total only when the page gives the same number (otherwise the total would belong to another
numbering). Number ``0`` counts as missing. A cover is added when the file has no picture at all;
it replaces the front cover only on overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from audiofetch.formats import AUDIO_EXTENSIONS
from audiofetch.naming import split_extension
from audiofetch.tags._model import TrackTags

__all__ = ["Existing", "is_placeholder", "plan_updates"]

_PLACEHOLDER = re.compile(
    r"""
    (?: (?:audio\s*)? track \s* [-_#.]? \s* \d* )
    | untitled (?:\s*\d+)?
    | unknown (?:\s+(?:title|artist|album))?
    | <\s*unknown\s*> | no\s+title | n/a | none | null | undefined
    | \d+
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Existing:
    """The tags a file already carries, read by a container adapter (None when absent)."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    has_picture: bool = False


def is_placeholder(value: str | None, file_name: str = "") -> bool:
    """True when ``value`` carries no information a person chose (see the module docstring)."""
    if value is None:
        return True
    text = " ".join(value.split())
    if not text or _PLACEHOLDER.fullmatch(text):
        return True
    folded = text.casefold()
    if file_name:
        stem, _ext = split_extension(file_name)
        if folded in (file_name.casefold(), stem.casefold()):
            return True
    _stem, ext = split_extension(text)
    return ext[1:].lower() in AUDIO_EXTENSIONS


def _text_update(current: str | None, wanted: str | None, file_name: str, overwrite: bool) -> str | None:
    """The value to write for one text field, or None to leave the file's value."""
    if wanted is None or not wanted.strip():
        return None
    wanted = wanted.strip()
    if current == wanted:
        return None
    if overwrite or is_placeholder(current, file_name):
        return wanted
    return None


def _track_update(existing: Existing, page: TrackTags, overwrite: bool) -> tuple[int | None, int | None]:
    """The final (number, total) pair when it changes, else (None, None)."""
    number = existing.track_number or None
    total = existing.track_total or None
    wanted_number = page.track_number if page.track_number and page.track_number > 0 else None
    wanted_total = page.track_total if page.track_total and page.track_total > 0 else None
    if overwrite:
        new_number = wanted_number or number
        new_total = wanted_total or (total if new_number == number else None)
    else:
        new_number = number or wanted_number
        new_total = total
        if new_total is None and (wanted_number is None or wanted_number == new_number):
            new_total = wanted_total
    if new_number is None or (new_number, new_total) == (number, total):
        return None, None
    return new_number, new_total


def plan_updates(existing: Existing, page: TrackTags, *, file_name: str, overwrite: bool) -> TrackTags:
    """The fields to write (None = leave alone); an ``empty`` result means the file is already right.

    When the track pair changes, both ``track_number`` and ``track_total`` hold the final values
    (``track_total`` may be None), because MP3 and MP4 store them together.
    """
    number, total = _track_update(existing, page, overwrite)
    cover = page.cover if page.cover and (overwrite or not existing.has_picture) else None
    return TrackTags(
        title=_text_update(existing.title, page.title, file_name, overwrite),
        artist=_text_update(existing.artist, page.artist, file_name, overwrite),
        album=_text_update(existing.album, page.album, file_name, overwrite),
        track_number=number,
        track_total=total,
        cover=cover,
    )
