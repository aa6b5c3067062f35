"""Finish a job's files with what the page told us (the pipeline's last stage, ``_pipeline``): tags, one
cover per image, the ``.m3u8`` playlist. Saved folders: an MP3's tag is written while it downloads
(``FrontTags``, the sink's ``edit_head``), other files are tagged once saved (``tags.tag_file``, a few
threads), then ``00 - Album.m3u8`` lists the files there, in page order. A streamed ZIP cannot rewrite
a file: MP3s get an ID3v2 tag sent before their data (``stream_prefixes``), the playlist is one more
entry (``playlist_entry``).

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
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch.download import Probe
from audiofetch.errors import AudioFetchError
from audiofetch.models import Detection, Track
from audiofetch.naming import album_name, track_filename
from audiofetch.net import Fetcher
from audiofetch.tags import (
    MAX_COVER_BYTES,
    Cover,
    PlaylistEntry,
    TrackTags,
    cover_from_bytes,
    id3_head_edit,
    m3u8_playlist,
    mp3_stream_prefix,
    playlist_filename,
    tag_file,
)
from audiofetch.zipstream import ZipEntry

__all__ = [
    "FrontTags",
    "PageTags",
    "SavedTrack",
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

TAG_THREADS = 4
"""Saved files tagged at the same time (each in its own thread)."""


@dataclass(frozen=True, slots=True)
class PageTags:
    """What the page says about all of a job's files.

    ``album`` is the page (or playlist) title, used when a track names no album of its own;
    ``track_total`` counts the page's tracks; ``artwork`` is the page's cover URL; ``covers`` holds
    the fetched images by URL (see ``load_covers``), ``no_cover`` the URLs that gave none.
    """

    album: str | None
    track_total: int
    artwork: str | None = None
    covers: Mapping[str, Cover] = field(default_factory=dict)
    no_cover: frozenset[str] = frozenset()  # URLs tried that gave no image: not fetched again
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
        if url in page.covers or url in page.no_cover:
            continue  # tried already
        if url and url not in wanted and urlsplit(url).scheme in ("http", "https"):
            wanted.append(url)
    wanted = wanted[: max(0, MAX_COVERS - len(page.covers) - len(page.no_cover))]  # the page's cover is first
    gate = asyncio.Semaphore(4)

    async def one(url: str) -> Cover | None:
        async with gate:
            return await _fetch_cover(fetcher, url, referer)

    found = await asyncio.gather(*(one(url) for url in wanted))
    covers = {url: cover for url, cover in zip(wanted, found, strict=True) if cover is not None}
    failed = page.no_cover | {url for url, cover in zip(wanted, found, strict=True) if cover is None}
    return replace(page, covers={**page.covers, **covers}, no_cover=failed)


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


class FrontTags:
    """The sink's ``edit_head`` for a folder: each MP3's tag written in front of it while it downloads.

    ``covers`` resolves to ``page`` with its covers (``load_covers`` may run meanwhile: the first MP3
    waits for it). ``done`` holds the positions whose files need no tagging after they are saved.
    Like ``tag_file``, it never fails a track: a cover or a tag that cannot be had is logged and the
    file is left as sent (``tag_file`` tries again once it is saved).
    """

    def __init__(
        self,
        tracks: Sequence[Track],
        page: PageTags,
        covers: Awaitable[PageTags],
        *,
        overwrite: bool = False,
    ) -> None:
        self._tracks, self._base, self._overwrite = tracks, page, overwrite
        self._covers = asyncio.ensure_future(covers)
        self.done: set[int] = set()

    async def page(self) -> PageTags:
        """The page's tags, covers included when they could be had."""
        try:
            return await asyncio.shield(self._covers)
        except Exception:
            log.warning("covers could not be loaded", exc_info=True)
            return self._base

    async def __call__(self, position: int, head: bytes) -> tuple[bytes, int]:
        self.done.discard(position)
        track = self._tracks[position]
        tags = (await self.page()).tags_for(track)
        name = track_filename(track.index or position + 1, len(self._tracks), track.title, "mp3")  # as saved
        try:
            edit = await asyncio.to_thread(
                id3_head_edit, tags, head, file_name=name, overwrite_existing=self._overwrite
            )
        except Exception as exc:  # mutagen's, say: the saved file gets tag_file's chance
            log.warning("no tag written while downloading %s: %s: %s", name, type(exc).__name__, exc)
            return b"", 0
        if edit is None:
            return b"", 0
        self.done.add(position)
        return edit

    def close(self) -> None:
        """Stop fetching covers if nobody needs them any more."""
        self._covers.cancel()


async def finish_folder(
    fetcher: Fetcher,
    folder: Path,
    saved: Sequence[SavedTrack],
    page: PageTags,
    *,
    tag: bool = True,
    referer: str | None = None,
    numbered_total: int | None = None,
    tagged: Collection[str] = (),
) -> Path | None:
    """Tag every saved file (when ``tag``), then write the playlist; returns its path (None: no files).

    Files named in ``tagged`` already carry their tags (``FrontTags``). ``numbered_total`` is the track
    count the file names were numbered against (default: the page's), so the playlist's ``00`` has their
    zero-padding. Never raises for a tag or cover; an unwritable playlist is logged and skipped.
    """
    if not saved:
        return None
    if tag:
        await _tag_saved(
            fetcher, folder, [item for item in saved if item.file_name not in tagged], page, referer
        )
    name = playlist_filename(numbered_total or page.track_total, page.album)
    try:
        await asyncio.to_thread(
            _write_atomically, folder / name, _playlist_text(saved), folder / saved[0].file_name
        )
    except (OSError, ValueError) as exc:
        log.warning("no playlist in %s: %s", folder.name, exc)
        return None
    return folder / name


async def _tag_saved(
    fetcher: Fetcher, folder: Path, saved: Sequence[SavedTrack], page: PageTags, referer: str | None
) -> None:
    """``tag_file`` on each saved file, ``TAG_THREADS`` at a time."""
    if not saved:
        return
    page = await load_covers(fetcher, page, [item.track for item in saved], referer=referer)
    gate = asyncio.Semaphore(TAG_THREADS)

    async def one(item: SavedTrack) -> bool:
        async with gate:
            tags = page.tags_for(item.track)
            return await asyncio.to_thread(
                tag_file, folder / item.file_name, tags, display_name=item.file_name
            )

    tagged = sum(await asyncio.gather(*(one(item) for item in saved)))
    log.info("tagged %d of %d files in %s", tagged, len(saved), folder.name)


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


def playlist_entry(
    saved: Sequence[SavedTrack],
    page: PageTags,
    *,
    numbered_total: int,
    delivered: Callable[[int], bool] | None = None,
) -> ZipEntry:
    """The playlist as an archive entry: of exact size listing ``saved`` (every track the ZIP holds), or
    with ``delivered``, of unknown size and written after the tracks, listing only those
    ``delivered(position)`` says reached the archive whole (positions index ``saved``)."""
    name = playlist_filename(numbered_total, page.album)
    if delivered is None:
        data = _playlist_text(saved).encode("utf-8")
        return ZipEntry(name, data, size=len(data))

    async def text() -> AsyncIterator[bytes]:
        yield _playlist_text([item for pos, item in enumerate(saved) if delivered(pos)]).encode("utf-8")

    return ZipEntry(name, text())
