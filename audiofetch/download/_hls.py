"""Download an HLS audio stream that ends (VOD) into one file: ``.aac`` from ADTS/TS, ``.m4a`` from fMP4.

The track's URL is a master or a media playlist. From a master, the best audio-only rendition is chosen
(``choose_audio``); a media playlist without ``#EXT-X-ENDLIST`` is live and refused. Segments are fetched
``SEGMENT_WORKERS`` at a time, each with its own retries, and written strictly in playlist order, so the
file is the same whatever order they arrive in. AES-128 keys come through the same guarded fetcher, once
per key URI. Everything else is the plain engine's: the sink's ``PartFile``, progress events, the file
and job size caps, and the per-file deadline, which covers playlists, keys and every segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from audiofetch.errors import DownloadError, FetchError, TooLargeError
from audiofetch.formats import looks_like_html, url_extension
from audiofetch.models import Track
from audiofetch.net import FetchedPage, Fetcher

from ._hls_join import AES_BLOCK, JoinError, SegmentJoiner, decrypt_aes128, default_iv
from ._hls_playlist import (
    ByteRange,
    InitSection,
    MasterPlaylist,
    MediaPlaylist,
    PlaylistError,
    Segment,
    SegmentKey,
    choose_audio,
    parse_playlist,
)
from ._sinks import SavedFile
from ._track import Transfer, mib, retrying

__all__ = [
    "HLS_MIMES",
    "LIVE_MESSAGE",
    "MAX_SEGMENT_BYTES",
    "SEGMENT_WORKERS",
    "fetch_hls",
    "hls_extension",
    "is_hls",
    "media_playlist",
]

HLS_MIMES: Final = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl"})
SEGMENT_WORKERS: Final = 4
MAX_SEGMENT_BYTES: Final = 16 * 1024 * 1024  # segments last seconds (~2 MB even for lossless): bounds memory
MAX_KEY_BYTES: Final = 1024
LIVE_MESSAGE: Final = "this is a live HLS stream (no #EXT-X-ENDLIST): only streams that end can be downloaded"
PageGetter = Callable[[str], Awaitable[FetchedPage]]


def is_hls(track: Track) -> bool:
    """True when the track is an HLS playlist (by its MIME type, or a ``.m3u8`` URL)."""
    mime = (track.mime or "").partition(";")[0].strip().lower()
    return mime in HLS_MIMES or url_extension(track.url) == "m3u8"


@dataclass(slots=True)
class _Hls:
    """One HLS track's download: the engine's ``Transfer``, and the keys fetched so far."""

    job: Transfer
    keys: dict[str, bytes] = field(default_factory=dict)
    key_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def page(self, url: str, max_bytes: int) -> FetchedPage:
        return await retrying(
            self.job, lambda: self.job.fetcher.fetch_page(url, referer=self.job.referer, max_bytes=max_bytes)
        )

    async def key(self, uri: str) -> bytes:
        """The 16-byte AES key at ``uri``, fetched once per URI even when segments ask at the same time."""
        async with self.key_locks.setdefault(uri, asyncio.Lock()):
            if uri not in self.keys:
                page = await self.page(uri, MAX_KEY_BYTES)
                if len(page.body) != AES_BLOCK:
                    raise DownloadError(f"the HLS key is {len(page.body)} bytes long, not 16", url=uri)
                self.keys[uri] = page.body
        return self.keys[uri]

    async def segment(self, segment: Segment) -> bytes:
        return await self.resource(segment.url, segment.byte_range, segment.key, default_iv(segment.sequence))

    async def resource(
        self, url: str, byte_range: ByteRange | None, key: SegmentKey | None, iv: bytes
    ) -> bytes:
        """A segment or init section, fetched with retries and decrypted."""
        data = await retrying(self.job, lambda: self.get(url, byte_range))
        if looks_like_html(data[:1024]):
            raise DownloadError("the server sent a web page instead of an HLS segment", url=url)
        if key is None or key.uri is None:
            return data
        secret = await self.key(key.uri)
        try:
            return await asyncio.to_thread(decrypt_aes128, data, secret, key.iv or iv)
        except JoinError as exc:
            raise DownloadError(str(exc), url=url) from exc

    async def get(self, url: str, byte_range: ByteRange | None) -> bytes:
        """One attempt at the bytes of ``url`` (or of its ``byte_range``), counted against the caps."""
        start = byte_range.offset if byte_range else 0
        want = byte_range.length if byte_range else None
        cap = min(MAX_SEGMENT_BYTES, self.job.settings.max_file_bytes)
        if want is not None and want > cap:
            raise TooLargeError(f"an HLS segment is larger than the {mib(cap)} limit", url=url)
        body = bytearray()
        async with self.job.fetcher.open_stream(url, start=start, referer=self.job.referer) as stream:
            skip = start - stream.start  # the server ignored the Range: drop what comes before it
            if skip < 0:
                raise FetchError("the server sent another part of the segment", url=url, retryable=True)
            async with contextlib.aclosing(stream.chunks()) as pieces:
                async for piece in pieces:
                    self.job.budget.reserve(len(piece), self.job.track.url)
                    self.job.board.received(self.job.pos, len(piece), self.job.part.size)
                    dropped = min(skip, len(piece))
                    skip -= dropped
                    body += piece[dropped:] if dropped else piece
                    if want is not None and len(body) >= want:
                        break
                    if len(body) > cap:
                        raise TooLargeError(f"an HLS segment is larger than the {mib(cap)} limit", url=url)
            expected = want if want is not None else (None if stream.total is None else stream.total - start)
        if expected is not None and len(body) < expected:
            raise FetchError("the transfer ended early", url=url, retryable=True)
        return bytes(body if want is None else body[:want])

    async def write(self, data: bytes) -> None:
        if not data:
            return
        cap = self.job.settings.max_file_bytes
        if self.job.part.size + len(data) > cap:
            raise TooLargeError(f"the file is larger than the {mib(cap)} limit", url=self.job.track.url)
        await self.job.part.write([data])
        self.job.board.received(self.job.pos, 0, self.job.part.size)

    async def run(self) -> SavedFile:
        playlist = await media_playlist(
            lambda url: self.page(url, self.job.settings.max_page_bytes), self.job.track.url
        )
        segments = playlist.segments
        inits = {segment.init for segment in segments}
        if len(inits) > 1:
            raise DownloadError("the HLS stream changes its init section midway", url=self.job.track.url)
        init: InitSection | None = next(iter(inits))
        if self.job.part.size:  # an earlier run's partial file: joined bytes cannot be resumed by offset
            await self.job.part.restart()
            self.job.board.restarted(self.job.pos)
        self.job.board.started(self.job.pos, 0, None)
        joiner = SegmentJoiner(fmp4=init is not None)
        if init is not None:
            iv = default_iv(segments[0].sequence)
            await self.write(await self.resource(init.url, init.byte_range, init.key, iv))
        fetches = [functools.partial(self.segment, segment) for segment in segments]
        await _in_order(fetches, functools.partial(self._join, joiner))
        try:
            joiner.finish()
        except JoinError as exc:
            raise DownloadError(str(exc), url=self.job.track.url) from exc
        if self.job.part.size == 0:
            raise DownloadError("the HLS stream holds no audio", url=self.job.track.url)
        return await self.job.part.commit(joiner.extension)

    async def _join(self, joiner: SegmentJoiner, data: bytes) -> None:
        try:
            await self.write(await asyncio.to_thread(joiner.add, data))
        except JoinError as exc:
            raise DownloadError(str(exc), url=self.job.track.url) from exc


async def _playlist(fetch: PageGetter, url: str) -> MasterPlaylist | MediaPlaylist:
    page = await fetch(url)
    if looks_like_html(page.body[:1024]):
        raise DownloadError("the server sent a web page instead of an HLS playlist", url=url)
    try:
        return parse_playlist(page.body.decode("utf-8", errors="replace"), page.url)
    except PlaylistError as exc:
        raise DownloadError(f"the HLS playlist cannot be read: {exc}", url=url) from exc


async def media_playlist(fetch: PageGetter, url: str) -> MediaPlaylist:
    """The media playlist to download: ``url`` itself, or the best audio rendition of the master there.

    Raises ``DownloadError`` for a live stream, a stream without audio-only rendition, no segments, or
    encryption other than AES-128 with a key URI.
    """
    found = await _playlist(fetch, url)
    if isinstance(found, MasterPlaylist):
        audio = choose_audio(found)
        if audio is None:
            raise DownloadError("this HLS stream has no audio-only rendition", url=url)
        found = await _playlist(fetch, audio)
        if isinstance(found, MasterPlaylist):
            raise DownloadError("the HLS audio rendition is another master playlist", url=audio)
    if not found.ended:
        raise DownloadError(LIVE_MESSAGE, url=url)
    if not found.segments:
        raise DownloadError("the HLS playlist lists no segments", url=url)
    for segment in found.segments:
        _check_key(segment.key, url)
    return found


def _check_key(key: SegmentKey | None, url: str) -> None:
    if key is None:
        return
    if key.method != "AES-128" or key.key_format.lower() != "identity":
        scheme = key.method if key.key_format.lower() == "identity" else f"{key.method} ({key.key_format})"
        raise DownloadError(f"the HLS stream is encrypted with {scheme}, which cannot be decrypted", url=url)
    if key.uri is None:
        raise DownloadError("the HLS stream is encrypted but its playlist gives no key", url=url)


async def _in_order(
    fetches: Sequence[Callable[[], Awaitable[bytes]]], consume: Callable[[bytes], Awaitable[None]]
) -> None:
    """Run ``fetches`` at most ``SEGMENT_WORKERS`` at a time and ``consume`` results in their order.

    Only the window ahead of the next result is in memory. On any error or cancellation the tasks still
    running are cancelled and awaited before this returns.
    """
    pending: deque[asyncio.Task[bytes]] = deque()
    upcoming = iter(fetches)
    try:
        while True:
            while len(pending) < SEGMENT_WORKERS and (fetch := next(upcoming, None)) is not None:
                pending.append(asyncio.ensure_future(fetch()))
            if not pending:
                return
            data = await pending[0]
            pending.popleft()
            await consume(data)
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def fetch_hls(job: Transfer) -> SavedFile:
    """Download the HLS stream ``job.track`` into ``job.part`` and commit it; same contract as
    ``fetch_track``: ``DownloadError`` (live stream, no audio rendition, DRM, bad padding) or
    ``FetchError`` (network, after retries)."""
    return await _Hls(job).run()


async def hls_extension(fetcher: Fetcher, track: Track, *, referer: str | None) -> str:
    """The extension the joined file will have (``m4a`` for fMP4, else ``aac``), from the playlists only.

    For browser-mode probing, where entry names are fixed before any audio arrives. One attempt per
    playlist; raises ``DownloadError``/``FetchError`` like ``fetch_hls``.
    """
    max_bytes = fetcher.settings.max_page_bytes
    playlist = await media_playlist(
        lambda url: fetcher.fetch_page(url, referer=referer, max_bytes=max_bytes), track.url
    )
    return "m4a" if any(segment.init for segment in playlist.segments) else "aac"
