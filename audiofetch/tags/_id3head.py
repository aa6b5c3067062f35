# mypy: disallow-untyped-calls=False
# (mutagen ships py.typed but leaves most constructors unannotated)
"""An MP3's ID3v2 tag written while the file downloads, so the saved file never has to be rewritten.

The download hands over the file's first bytes (a megabyte, usually). When they hold MPEG frames
(``_mpeg``), the tag goes in front; when they start with an ID3v2 tag of the file's own that they hold
whole, that tag is read, merged with the page's by the rules of ``_merge`` (as ``tag_file`` does) and
written in its place. Anything else (not an MP3, a tag longer than the bytes given, a tag mutagen cannot
read) is left to ``tag_file`` once the file is saved. An ID3v1 tag at the end of a file cannot be seen
this early: its values do not count as ones the file already has.
"""

from __future__ import annotations

import io
from typing import Any

from mutagen.id3 import ID3

from audiofetch.tags._containers import apply_id3, kind_below_id3, read_id3
from audiofetch.tags._id3stream import existing_id3v2_length
from audiofetch.tags._merge import Existing, plan_updates
from audiofetch.tags._model import TrackTags
from audiofetch.tags._mpeg import MPEG_WINDOW, has_mpeg_frames

__all__ = ["id3_head_edit"]


def _own_tag(head: bytes) -> tuple[Any, int] | None:
    """The file's own ID3v2 tag and its length, an empty tag and 0 when it has none; None: not for us."""
    length = existing_id3v2_length(head)
    if length is None:
        return (ID3(), 0) if has_mpeg_frames(head) else None
    below = head[length : length + MPEG_WINDOW]
    if length > len(head) or kind_below_id3(below) != "mp3":
        return None
    try:
        return ID3(io.BytesIO(head[:length])), length
    except Exception:  # mutagen's errors for a damaged tag: tag_file decides about the saved file
        return None


def id3_head_edit(
    tags: TrackTags, head: bytes, *, file_name: str, overwrite_existing: bool = False
) -> tuple[bytes, int] | None:
    """``(tag, cut)``: write ``tag`` in place of the first ``cut`` bytes of the MP3 that starts with ``head``.

    ``(b"", 0)`` when the file's own tag already says everything; None when this cannot be decided from
    ``head`` (see the module docstring). ``file_name`` and ``overwrite_existing`` are ``tag_file``'s.
    """
    found = _own_tag(head)
    if found is None:
        return None
    tag, length = found
    existing = read_id3(tag) if length else Existing()
    updates = plan_updates(existing, tags, file_name=file_name, overwrite=overwrite_existing)
    if updates.empty:
        return b"", 0
    apply_id3(tag, updates)
    buffer = io.BytesIO()
    tag.save(buffer, v1=0, v2_version=4, padding=lambda _info: 0)
    return buffer.getvalue(), length
