"""Finish a job's files with what the page told us: tags, one cover per image, the ``.m3u8`` playlist.

Shared by server mode (``JobRunner``) and ``audiofetch get``, so a folder looks the same whichever made
it. Saved folders: every saved file is tagged through ``tags.tag_file`` in a thread (all formats), then
``00 - Album.m3u8`` lists the files that are there, in page order. ZIPs streamed while downloading
cannot rewrite a file, so MP3s get an ID3v2 tag sent before their data (``stream_prefixes``) and the
playlist is one more entry (``playlist_entry``, exact size; ``delivered_playlist_entry`` for archives
that leave failed tracks out).

Covers come from the track's artwork, else the page's (``og:image``), each distinct image fetched
once through the guarded fetcher, at most ``MAX_COVER_BYTES``. A cover or a tag that cannot be had
is logged and skipped: tagging never fails a track or a job. Turning tags off keeps the playlist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch.download import Probe
from audiofetch.errors import AudioFetchError
from audiofetch.models import Detection, Track
from audiofetch.naming import album_name
from audiofetch.net import Fetcher
from audiofetch.tags import (
    MAX_COVER_BYTES,
    Cover,
    PlaylistEntry,
    TrackTags,
    cover_from_bytes,
    m3u8_playlist,
    mp3_stream_prefix,
    playlist_filename,
    tag_file,
)
from audiofetch.zipstream import ZipEntry

__all__ = [
    "MAX_COVERS",
    "MAX_STREAM_TAG_BYTES",
    "PageTags",
    "SavedTrack",
    "delivered_playlist_entry",
    "finish_folder",
    "load_covers",
    "playlist_entry",
    "stream_prefixes",
]

log = logging.getLogger(__name__)

MAX_COVERS = 16
"""Distinct cover images fetched for one job; tracks past that share the page's cover."""

MAX_STREAM_TAG_BYTES = 64 * 1024 * 1024
"""Tags a streamed ZIP holds in memory before it starts; past that, streamed tags go without covers."""


@dataclass(frozen=True, slots=True)
class PageTags:
    """What the page says about all of a job's files.

    ``album`` is the page (or playlist) title, used when a track names no album of its own;
    ``track_total`` counts the page's tracks; ``artwork`` is the page's cover URL; ``covers`` holds
    the fetched images by URL (see ``load_covers``).
    """

    album: str | None
    track_total: int
    artwork: str | None = None
    covers: Mapping[str, Cover] = field(default_factory=dict)
    # True when ``album`` is a name the person chose: it then wins over each track's own album.
    named: bool = False

    @classmethod
    def from_detection(cls, detection: Detection, *, name: str | None = None) -> PageTags:
        """The page's tags; ``name`` (the Name a person gave the download) replaces the album."""
        named = album_name(name)
        return cls(
            named or detection.title, len(detection.tracks), detection.artwork, named=named is not None
        )

    def cover_for(self, track: Track) -> Cover | None:
        """The track's own cover when it was fetched, else the page's."""
        for url in (track.artwork, self.artwork):
            if url and url in self.covers:
                return self.covers[url]
        return None

    def tags_for(self, track: Track, *, cover: bool = True) -> TrackTags:
        """Title, artist, album, number/total and (unless ``cover`` is False) the cover of ``track``."""
        return TrackTags(
            title=track.title,
            artist=track.artist,
            album=self.album if self.named else (track.album or self.album),
            track_number=track.index or None,
            track_total=self.track_total or None,
            cover=self.cover_for(track) if cover else None,
        )


@dataclass(frozen=True, slots=True)
class SavedTrack:
    """A track and the name its file has in the folder or archive."""

    track: Track
    file_name: str


async def _fetch_cover(fetcher: Fetcher, url: str, referer: str | None) -> Cover | None:
    try:
        page = await fetcher.fetch_page(url, referer=referer, max_bytes=MAX_COVER_BYTES)
    except AudioFetchError as exc:
        log.info("no cover from %s: %s", url, exc.user_message)
        return None
    cover = cover_from_bytes(page.body, page.content_type)
    if cover is None:
        log.info("no cover from %s: not a JPEG or PNG image", url)
    return cover


async def load_covers(
    fetcher: Fetcher, page: PageTags, tracks: Sequence[Track], *, referer: str | None = None
) -> PageTags:
    """``page`` with the covers of ``tracks`` fetched: each distinct image once, a few at a time."""
    wanted: list[str] = []
    for url in (page.artwork, *(t.artwork for t in tracks)):
        if url and url not in wanted and urlsplit(url).scheme in ("http", "https"):
            wanted.append(url)
    wanted = wanted[:MAX_COVERS]  # the page's own cover comes first, so it is always among them
    gate = asyncio.Semaphore(4)

    async def one(url: str) -> Cover | None:
        async with gate:
            return await _fetch_cover(fetcher, url, referer)

    found = await asyncio.gather(*(one(url) for url in wanted))
    covers = {url: cover for url, cover in zip(wanted, found, strict=True) if cover is not None}
    return replace(page, covers={**page.covers, **covers})


def _playlist_text(saved: Sequence[SavedTrack]) -> str:
    ordered = sorted(saved, key=lambda item: item.track.index)
    return m3u8_playlist(
        PlaylistEntry(item.file_name, item.track.title, item.track.duration) for item in ordered
    )


def _write_atomically(path: Path, text: str, like: Path) -> None:
    """Write ``text`` beside ``path`` and rename it over: readers never see half a playlist.

    The file gets the permission bits of ``like`` (a saved track), not mkstemp's private 0600.
    """
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".m3u8.tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        shutil.copymode(like, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


async def finish_folder(
    fetcher: Fetcher,
    folder: Path,
    saved: Sequence[SavedTrack],
    page: PageTags,
    *,
    tag: bool = True,
    referer: str | None = None,
    numbered_total: int | None = None,
) -> Path | None:
    """Tag every saved file (when ``tag``), then write the playlist; returns its path (None: no files).

    ``numbered_total`` is the track count the file names were numbered against (default: the page's),
    so the playlist's ``00`` has their zero-padding. Never raises for a tag or cover; an unwritable
    playlist is logged and skipped.
    """
    if not saved:
        return None
    if tag:
        page = await load_covers(fetcher, page, [item.track for item in saved], referer=referer)
        tagged = 0
        for item in saved:
            tags = page.tags_for(item.track)
            path = folder / item.file_name
            tagged += await asyncio.to_thread(tag_file, path, tags, display_name=item.file_name)
        log.info("tagged %d of %d files in %s", tagged, len(saved), folder.name)
    name = playlist_filename(numbered_total or page.track_total, page.album)
    try:
        await asyncio.to_thread(
            _write_atomically, folder / name, _playlist_text(saved), folder / saved[0].file_name
        )
    except (OSError, ValueError) as exc:
        log.warning("no playlist in %s: %s", folder.name, exc)
        return None
    return folder / name


def stream_prefixes(
    tracks: Sequence[Track], probes: Sequence[Probe], page: PageTags, *, tag: bool = True
) -> list[bytes]:
    """For each track, the ID3v2 tag to send before it: MP3s only, ``b""`` when the upstream file
    already starts with a tag or ``tag`` is False. Past ``MAX_STREAM_TAG_BYTES`` in all, covers are
    left out (every prefix lives in memory until its track is sent)."""
    if not tag:
        return [b""] * len(tracks)

    def build(with_cover: bool) -> list[bytes]:
        return [
            mp3_stream_prefix(page.tags_for(track, cover=with_cover), probe.head)
            if probe.ext == "mp3"
            else b""
            for track, probe in zip(tracks, probes, strict=True)
        ]

    prefixes = build(with_cover=True)
    if sum(map(len, prefixes)) > MAX_STREAM_TAG_BYTES:
        log.info("streamed tags without covers: %d MP3s would hold too much in memory", len(tracks))
        prefixes = build(with_cover=False)
    return prefixes


def playlist_entry(saved: Sequence[SavedTrack], page: PageTags, *, numbered_total: int) -> ZipEntry:
    """The playlist as an archive entry of exact size, listing ``saved`` (every track the ZIP holds)."""
    data = _playlist_text(saved).encode("utf-8")
    return ZipEntry(playlist_filename(numbered_total, page.album), data, size=len(data))


def delivered_playlist_entry(
    saved: Sequence[SavedTrack], page: PageTags, delivered: Callable[[int], bool], *, numbered_total: int
) -> ZipEntry:
    """The playlist as an entry of unknown size, written after the tracks: it lists only those
    ``delivered(position)`` says reached the archive whole (positions index ``saved``)."""

    async def text() -> AsyncIterator[bytes]:
        present = [item for pos, item in enumerate(saved) if delivered(pos)]
        yield _playlist_text(present).encode("utf-8")

    return ZipEntry(playlist_filename(numbered_total, page.album), text())
