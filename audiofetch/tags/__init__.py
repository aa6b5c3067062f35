"""Tags and playlists: what the page told us, written into the files and an ``.m3u8`` beside them.

Public: ``TrackTags``/``Cover`` (what to write), ``tag_file`` (saved files, through mutagen),
``id3v2_prefix``/``mp3_stream_prefix``/``existing_id3v2_length`` (MP3 data being streamed),
``id3_head_edit`` (an MP3 being downloaded to a folder: its tag written in front, no rewrite),
``m3u8_playlist``/``playlist_filename``. Sits beside ``download``: it may import ``models``,
``formats``, ``naming``, ``errors`` and mutagen, nothing above. No network: fetching the cover image
is the caller's job (through ``net``); ``cover_from_bytes`` checks what came back.
"""

from __future__ import annotations

from audiofetch.tags._id3head import id3_head_edit
from audiofetch.tags._id3stream import (
    ID3V2_HEADER_BYTES,
    existing_id3v2_length,
    id3v2_prefix,
    mp3_stream_prefix,
)
from audiofetch.tags._merge import is_placeholder
from audiofetch.tags._model import MAX_COVER_BYTES, Cover, TrackTags, cover_from_bytes
from audiofetch.tags._playlist import PlaylistEntry, m3u8_playlist, playlist_filename
from audiofetch.tags._write import tag_file

__all__ = [
    "ID3V2_HEADER_BYTES",
    "MAX_COVER_BYTES",
    "Cover",
    "PlaylistEntry",
    "TrackTags",
    "cover_from_bytes",
    "existing_id3v2_length",
    "id3_head_edit",
    "id3v2_prefix",
    "is_placeholder",
    "m3u8_playlist",
    "mp3_stream_prefix",
    "playlist_filename",
    "tag_file",
]
