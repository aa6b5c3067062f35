"""A local site of real, encoded audio for the tag integration tests, and mutagen read-back helpers.

The site serves pages and files from dicts and logs every path it is asked for, so a test can count
how often a cover was fetched. ``read_tags`` reads what each format carries through mutagen's own
classes (not through AudioFetch's adapters).
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from tests.kit import site as kit


@dataclass
class MediaSite(kit.MediaSite):
    """The tag tests' view of the kit's site: pages and files by path, sent whole (no Range), typed by
    extension; ``seen`` lists every requested path in order."""

    default_behaviour: str = "norange"

    @property
    def seen(self) -> list[str]:
        return self.paths_seen()


def jsonld_album(
    title: str, artist: str, tracks: list[tuple[str, str, str | None]], *, og_image: str | None
) -> str:
    """A page whose JSON-LD MusicAlbum lists ``(name, audio path, ISO duration)`` tracks."""
    recordings = []
    for name, path, duration in tracks:
        item: dict[str, Any] = {"@type": "MusicRecording", "name": name, "audio": {"contentUrl": path}}
        item["audio"]["@type"] = "AudioObject"
        if duration:
            item["duration"] = duration
        recordings.append(item)
    album = {
        "@context": "https://schema.org",
        "@type": "MusicAlbum",
        "name": title,
        "byArtist": {"@type": "MusicGroup", "name": artist},
        "track": recordings,
    }
    meta = f'<meta property="og:image" content="{html.escape(og_image)}">' if og_image else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{meta}"
        f'<script type="application/ld+json">{json.dumps(album)}</script></head><body></body></html>'
    )


def aplayer_page(title: str, songs: list[dict[str, str]], *, og_image: str | None) -> str:
    """A page with one APlayer playlist (``name``, ``artist``, ``url``, optional ``cover`` per song)."""
    meta = f'<meta property="og:image" content="{html.escape(og_image)}">' if og_image else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{meta}</head>"
        "<body><div id='aplayer'></div><script>\nconst ap = new APlayer({\n"
        f"  container: document.getElementById('aplayer'),\n  audio: {json.dumps(songs)}\n}});\n"
        "</script></body></html>"
    )


@dataclass(frozen=True)
class Tags:
    """What a file carries, format-independently; covers as (mime, bytes)."""

    title: str | None
    artist: str | None
    album: str | None
    track: str | None
    covers: list[tuple[str, bytes]]
    length: float


def _first(values: Any) -> str | None:
    return str(values[0]) if values else None


def read_tags(path: Path) -> Tags:
    """Tags through each format's own mutagen class, chosen by extension; ``track`` as ``n/total``."""
    ext = path.suffix[1:]
    if ext == "mp3":
        from mutagen.mp3 import MP3

        id3 = ID3(path)
        text = {key: str(id3[key]) if key in id3 else None for key in ("TIT2", "TPE1", "TALB", "TRCK")}
        covers = [(pic.mime, pic.data) for pic in id3.getall("APIC")]
        mp3: Any = MP3(path)
        return Tags(text["TIT2"], text["TPE1"], text["TALB"], text["TRCK"], covers, mp3.info.length)
    if ext == "m4a":
        mp4: Any = MP4(path)
        tags: Any = mp4.tags or {}
        pairs = tags.get("trkn") or []
        track = f"{pairs[0][0]}/{pairs[0][1]}" if pairs else None
        covers = [
            ("image/png" if c.imageformat == c.FORMAT_PNG else "image/jpeg", bytes(c))
            for c in tags.get("covr", [])
        ]
        return Tags(
            _first(tags.get("\xa9nam")), _first(tags.get("\xa9ART")), _first(tags.get("\xa9alb")), track,
            covers, mp4.info.length,
        )  # fmt: skip
    kinds = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}
    loaded: Any = kinds[ext](path)
    comments = loaded.tags or {}
    number, total = _first(comments.get("tracknumber")), _first(comments.get("tracktotal"))
    track = f"{number}/{total}" if number and total else number
    if ext == "flac":
        covers = [(pic.mime, pic.data) for pic in loaded.pictures]
    else:
        covers = []
        for value in comments.get("metadata_block_picture", []):
            pic = Picture(base64.b64decode(value))
            covers.append((pic.mime, pic.data))
    return Tags(
        _first(comments.get("title")), _first(comments.get("artist")), _first(comments.get("album")), track,
        covers, loaded.info.length,
    )  # fmt: skip
