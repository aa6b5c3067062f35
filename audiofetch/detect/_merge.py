"""Run the extractors on a Page and merge what they found into one numbered track list.

Rules (the extractor brief): de-duplicate across extractors by normalised URL, alternates included; the
winner is the extractor with the highest priority that found tracks (ties: more tracks, then registry
order); the list is the winner's tracks in its order, then tracks only others found, in priority order;
missing titles and metadata are filled from other extractors; each track's URL is its first-listed
format unless ``prefer`` names formats; tracks are numbered 1..N.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from audiofetch.errors import DetectError, ParseError
from audiofetch.extractors import Extractor, all_extractors, by_name
from audiofetch.formats import from_url as format_from_url
from audiofetch.formats import url_extension
from audiofetch.models import Detection, Page, SkippedStream, Track

from ._urls import normalize_url

__all__ = ["choose_extractors", "detect_page", "run_extractors"]

log = logging.getLogger(__name__)
_FILLED = ("title", "artist", "album", "duration", "artwork", "mime")
_ARTWORK_KEYS = ("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src")


@dataclass(frozen=True, slots=True)
class Finding:
    """What one extractor returned for a page."""

    extractor: Extractor
    order: int
    tracks: tuple[Track, ...]
    skipped: tuple[SkippedStream, ...]


def choose_extractors(plugin: str = "auto") -> tuple[Extractor, ...]:
    """Every registered extractor for ``auto``, else the one named; DetectError naming the choices."""
    if plugin == "auto":
        return all_extractors()
    chosen = by_name(plugin)
    if chosen is None:
        names = ", ".join(["auto", *(e.name for e in all_extractors())])
        raise DetectError(f"unknown plugin {plugin!r}; available: {names}")
    return (chosen,)


def _safely(extractor: Extractor, page: Page) -> tuple[tuple[Track, ...], tuple[SkippedStream, ...]]:
    """An extractor's findings; one that raises despite its contract counts as having found nothing."""
    try:
        return tuple(extractor.extract(page)), tuple(extractor.skipped(page))
    except Exception:  # an extractor's bug must not cost the other extractors' tracks
        log.warning("extractor %s failed on %s", extractor.name, page.url, exc_info=True)
        return (), ()


def run_extractors(
    page: Page, extractors: Sequence[Extractor], *, deadline: float | None = None
) -> list[Finding]:
    """Run each extractor in registry order; ParseError once ``deadline`` (time.monotonic) has passed."""
    findings: list[Finding] = []
    for order, extractor in enumerate(extractors):
        if deadline is not None and time.monotonic() > deadline:
            raise ParseError(f"reading the page took too long (stopped before {extractor.name})")
        tracks, skipped = _safely(extractor, page)
        findings.append(Finding(extractor, order, tracks, skipped))
    return findings


def _fill(base: Track, other: Track) -> Track:
    missing = {name: getattr(other, name) for name in _FILLED if getattr(base, name) is None}
    return replace(base, **{k: v for k, v in missing.items() if v is not None})


def _formats_of(url: str) -> set[str]:
    found = format_from_url(url)
    names = {url_extension(url)}
    if found is not None:
        names |= {found.name, found.ext}
    return names - {""}


def _preferred(track: Track, prefer: Sequence[str]) -> Track:
    """The track with its URL switched to the first format ``prefer`` names, if the track offers it."""
    if not track.alternates or not prefer:
        return track
    urls = [track.url, *track.alternates]
    for wanted in (p.strip().lower().lstrip(".") for p in prefer):
        for url in urls:
            if wanted in _formats_of(url):
                rest = tuple(u for u in urls if u != url)
                mime = track.mime if url == track.url else None
                return replace(track, url=url, alternates=rest, mime=mime)
    return track


def page_artwork(page: Page) -> str | None:
    """The page's cover image: the first ``og:image`` (secure URL first), else ``twitter:image``;
    absolute, http(s) only, None when the page names none."""
    if page.root is None:
        return None
    found: dict[str, str] = {}
    for node in page.root.find_all("meta"):
        key = (node.get("property") or node.get("name") or "").strip().lower()
        content = (node.get("content") or "").strip()
        if key in _ARTWORK_KEYS and content:
            found.setdefault(key, content)
    for key in _ARTWORK_KEYS:
        if key in found:
            url = urljoin(page.resolve_base, found[key])
            if urlsplit(url).scheme in ("http", "https"):
                return url
    return None


def merge(page: Page, findings: Sequence[Finding], prefer: Sequence[str] = ()) -> Detection:
    """One Detection from every extractor's findings, following the module's rules."""
    ranked = sorted(
        (f for f in findings if f.tracks),
        key=lambda f: (-f.extractor.priority, -len(f.tracks), f.order),
    )
    merged: list[Track] = []
    owner: dict[str, int] = {}
    for finding in ranked:
        for track in finding.tracks:
            keys = [normalize_url(url) for url in (track.url, *track.alternates)]
            hit = next((owner[key] for key in keys if key in owner), None)
            if hit is not None:
                merged[hit] = _fill(merged[hit], track)
                continue
            for key in keys:
                owner.setdefault(key, len(merged))
            merged.append(track)
    tracks = tuple(replace(_preferred(track, prefer), index=number) for number, track in enumerate(merged, 1))
    by_rank = sorted(findings, key=lambda f: (-f.extractor.priority, f.order))
    skipped: dict[str, SkippedStream] = {}
    for finding in by_rank:
        for stream in finding.skipped:
            key = normalize_url(stream.url)
            if key not in owner:
                skipped.setdefault(key, stream)
    player = ranked[0].extractor.name if ranked else None
    if player is None:
        player = next((f.extractor.name for f in by_rank if f.skipped), None)
    return Detection(
        page_url=page.url,
        title=page.title,
        player=player,
        tracks=tracks,
        skipped=tuple(skipped.values()),
        looked_for=tuple(f.extractor.description for f in findings),
        artwork=page_artwork(page),
    )


def detect_page(page: Page, *, plugin: str = "auto", prefer: Sequence[str] = ()) -> Detection:
    """Run the extractors (all for ``auto``, else the one named) on a ready Page and merge. Pure."""
    return merge(page, run_extractors(page, choose_extractors(plugin)), prefer)
