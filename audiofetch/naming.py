"""Safe, unique file names: the one sanitiser shared by files on disk and ZIP entry names.

Pure and stdlib-only. A name that went through :func:`sanitize_name` is a single path component that
unpacks to the same file on Linux, macOS and Windows: no separators, no ``..``, no control or bidi
characters (which can disguise ``evil.exe\u202egpj.mp3`` as ``.mp3``), no Windows device names or
forbidden characters, no hidden dot-files, at most 255 bytes of UTF-8 with the extension kept.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_NAME_BYTES",
    "UniqueNames",
    "album_name",
    "sanitize_name",
    "sanitize_path",
    "split_extension",
    "track_filename",
]

MAX_NAME_BYTES = 255
"""Longest file name (one component) most file systems accept, in bytes of UTF-8."""

_MAX_EXT_CHARS = 16

# Windows-forbidden characters and path separators, each mapped to something readable.
_REPLACEMENTS = str.maketrans(
    {
        "/": "-",
        "\\": "-",
        "|": "-",
        ":": " -",
        '"': "'",
        "?": "",
        "*": "_",
        "<": "_",
        ">": "_",
    }
)

# Device names Windows reserves in every folder, with or without an extension (case-insensitive).
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"}
)

# Format characters that are legitimate parts of text (joiners in Indic/Arabic scripts and emoji).
_KEPT_FORMAT_CHARS = frozenset({"\u200c", "\u200d"})

_WHITESPACE = re.compile(r"\s+")


def _clean(name: str) -> str:
    """Characters, whitespace and edge dots; truncation, the fallback and device names come later."""
    name = unicodedata.normalize("NFC", name).translate(_REPLACEMENTS)
    kept: list[str] = []
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")  # control characters and line breaks separate words
        elif (category == "Cf" and char not in _KEPT_FORMAT_CHARS) or category == "Cs":
            continue  # bidi overrides, zero-width spaces, BOMs, lone surrogates
        else:
            kept.append(char)
    name = _WHITESPACE.sub(" ", "".join(kept))
    return _strip_edges(name)


def _strip_edges(name: str) -> str:
    """No leading dots (hidden files) or spaces; no trailing dots or spaces (Windows drops them)."""
    return name.strip(" ").lstrip(". ").rstrip(". ")


def _defuse_reserved(name: str) -> str:
    """``CON.txt`` -> ``CON_.txt``: Windows maps device names to devices whatever the extension."""
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:
        return f"{stem.rstrip(' ')}_{dot}{rest}"
    return name


def split_extension(name: str) -> tuple[str, str]:
    """Split ``"a.b.mp3"`` into ``("a.b", ".mp3")``; an extension is 1-16 letters or digits."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and len(ext) <= _MAX_EXT_CHARS and ext.isalnum():
        return stem, dot + ext
    return name, ""


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` within ``max_bytes`` of UTF-8, never splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def _fit(stem: str, ext: str, max_bytes: int) -> str:
    """Join ``stem + ext`` within ``max_bytes``, shortening the stem first so the extension survives."""
    if len(stem.encode("utf-8")) + len(ext.encode("utf-8")) <= max_bytes:
        return stem + ext
    budget = max_bytes - len(ext.encode("utf-8"))
    if budget < 1:
        return _strip_edges(_truncate_utf8(stem + ext, max_bytes))
    return _strip_edges(_truncate_utf8(stem, budget)) + ext


def album_name(name: str | None) -> str | None:
    """The name a person gave a download, as the album, folder and ZIP stem: ``"Mix.zip"`` -> ``"Mix"``.

    Surrounding blanks go; ``None`` (or a name left empty) stays ``None``.
    """
    if name is None:
        return None
    name = name.strip()
    if name.lower().endswith(".zip"):
        name = name[: -len(".zip")].rstrip()
    return name or None


def sanitize_name(name: str, *, fallback: str = "untitled", max_bytes: int = MAX_NAME_BYTES) -> str:
    """Turn any text into one safe file name component; never returns ``""``, ``"."`` or ``".."``.

    Raises ValueError when ``max_bytes`` is too small to hold any name (below 8).
    """
    if max_bytes < 8:
        raise ValueError(f"max_bytes must be at least 8, not {max_bytes}")
    stem, ext = split_extension(_clean(name))
    result = _fit(stem, ext, max_bytes)
    if not result:
        result = _fit(_clean(fallback), "", max_bytes) or "untitled"
    result = _defuse_reserved(result)
    if len(result.encode("utf-8")) > max_bytes:  # the defusing underscore pushed it over
        stem, ext = split_extension(result)
        result = _fit(stem, ext, max_bytes)
    return result


def track_filename(index: int, total: int, title: str | None, ext: str) -> str:
    """``"07 - Title.mp3"``: numbered to sort in page order, zero-padded to ``max(2, digits(total))``.

    A missing or unusable title becomes ``"Track 07"``; ``ext`` is given without the dot and lowercased.
    """
    number = str(index).zfill(max(2, len(str(total))))
    suffix = "".join(ch for ch in ext.lstrip(".").lower() if ch.isascii() and ch.isalnum())
    suffix = f".{suffix[:_MAX_EXT_CHARS]}" if suffix else ""
    prefix = f"{number} - "
    clean_title = _clean(title or "")
    if not clean_title:
        clean_title = f"Track {number}"
    budget = MAX_NAME_BYTES - len(prefix.encode("utf-8")) - len(suffix.encode("utf-8"))
    clean_title = _strip_edges(_truncate_utf8(clean_title, budget)) or f"Track {number}"
    return f"{prefix}{clean_title}{suffix}"


def sanitize_path(path: str) -> str:
    """A relative ``a/b/c`` path for a ZIP entry: each component sanitised, empty/``.``/``..`` dropped."""
    parts = [part for part in re.split(r"[/\\]", path) if part.strip() not in ("", ".", "..")]
    cleaned = [sanitize_name(part) for part in parts]
    return "/".join(cleaned) if cleaned else "untitled"


class UniqueNames:
    """Hands out names that differ case-insensitively: ``a.mp3``, then ``a (2).mp3``, ``A (3).MP3``...

    Names may be ``/``-separated paths; only the last component gets the number. Each result stays
    within ``max_bytes`` per component (the stem is shortened to make room for the number).
    """

    def __init__(self, *, max_bytes: int = MAX_NAME_BYTES) -> None:
        self._taken: set[str] = set()
        self._next_number: dict[str, int] = {}
        self._max_bytes = max_bytes

    @staticmethod
    def _key(name: str) -> str:
        return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._taken

    def claim(self, name: str) -> str:
        """Return ``name`` or the first free numbered variant, and mark it taken."""
        key = self._key(name)
        if key not in self._taken:
            self._taken.add(key)
            return name
        folder, slash, leaf = name.rpartition("/")
        stem, ext = split_extension(leaf)
        stem = stem.rstrip(" ")  # "a .mp3" -> "a (2).mp3", not "a  (2).mp3"
        number = self._next_number.get(key, 2)
        while True:
            tag = f" ({number})"
            candidate = _fit(stem, tag + ext, self._max_bytes) if stem else leaf + tag
            candidate = f"{folder}{slash}{candidate}"
            number += 1
            candidate_key = self._key(candidate)
            if candidate_key not in self._taken:
                self._next_number[key] = number
                self._taken.add(candidate_key)
                return candidate
