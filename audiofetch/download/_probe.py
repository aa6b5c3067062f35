"""Probe tracks before a browser-mode ZIP starts: exact sizes (for Content-Length) and real formats.

One small ranged GET per track (``Fetcher.fetch_head``), a few in parallel. The first bytes tell the
format by magic number, so ZIP entry names carry the right extension before any audio is streamed; they
are kept (``Probe.head``) so callers can decide what to send before a track's data (a tag, say).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from audiofetch.errors import AudioFetchError
from audiofetch.formats import looks_like_html
from audiofetch.models import Track
from audiofetch.net import FetchedPage, Fetcher

from ._hls import hls_extension, is_hls
from ._track import choose_extension

__all__ = ["Probe", "probe_tracks"]

PROBE_BYTES = 4096
_CONTENT_RANGE = re.compile(r"bytes\s+\d+-\d+/(\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Probe:
    """What a track's first bytes told: its full size when the server said, its extension, or an error.

    ``head`` holds the first bytes read (at most ``PROBE_BYTES``; empty after an error); it is evidence,
    not part of the verdict, so it is left out of comparisons and ``repr``.
    """

    size: int | None
    ext: str | None
    error: str | None = None
    head: bytes = field(default=b"", compare=False, repr=False)


def _full_size(page: FetchedPage) -> int | None:
    if page.status == 206:
        match = _CONTENT_RANGE.match(page.header("Content-Range") or "")
        return int(match.group(1)) if match and match.group(1) != "*" else None
    if page.header("Content-Encoding") not in (None, "identity"):
        return None
    length = page.header("Content-Length")
    return int(length) if length is not None and length.isascii() and length.isdigit() else None


async def _probe_one(fetcher: Fetcher, track: Track, referer: str | None) -> Probe:
    if is_hls(track):  # a playlist: the joined size is known only at the end; the format from the playlists
        try:
            return Probe(None, await hls_extension(fetcher, track, referer=referer))
        except AudioFetchError as exc:
            return Probe(None, None, exc.user_message)
    try:
        page = await fetcher.fetch_head(track.url, referer=referer, max_bytes=PROBE_BYTES)
    except AudioFetchError as exc:
        return Probe(None, None, exc.user_message)
    if not page.body:
        return Probe(None, None, "the server sent an empty file")
    if looks_like_html(page.body):
        return Probe(None, None, "the server sent a web page instead of audio")
    ext = choose_extension(page.body, page.content_type, page.url, track)
    return Probe(_full_size(page), ext, head=page.body[:PROBE_BYTES])


async def probe_tracks(
    fetcher: Fetcher,
    tracks: Sequence[Track],
    *,
    referer: str | None,
    workers: int,
    deadline: float | None = None,
) -> list[Probe]:
    """One ``Probe`` per track, in order; at most ``workers`` requests at a time. Never raises for a track.

    ``deadline`` (seconds) bounds the whole probe: tracks not probed by then get an error ``Probe``.
    """
    gate = asyncio.Semaphore(max(1, workers))

    async def gated(track: Track) -> Probe:
        async with gate:
            return await _probe_one(fetcher, track, referer)

    tasks = [asyncio.ensure_future(gated(track)) for track in tracks]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, timeout=deadline)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    late = f"no answer within the {deadline:g} s allowed for checking the tracks" if deadline else ""
    return [task.result() if not task.cancelled() else Probe(None, None, late) for task in tasks]
