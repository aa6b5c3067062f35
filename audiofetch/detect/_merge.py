"""Run the extractors on a Page and merge what they found into one numbered track list.

This is the one place findings become tracks. Entry points:

- ``run_extractors(page, extractors, budget=...)``: each extractor whose ``detects`` is true, once, all
  charged to one ``WorkBudget``; returns a ``Run`` (the findings and notes on work left undone).
- ``merge(page, findings, prefer, notes)``: one ``Detection`` from any findings. Other passes (a
  rendered page's media requests, an extension's captured URLs) add their own ``Finding`` (see
  ``Finding.of``) to the list and call ``merge`` the same way.

Rules: the winner is the source with the highest priority that found tracks (ties: more tracks, then
order); the list is the winner's tracks in its order, then tracks only others found, in priority
order. Addresses naming the same media (``_group.media_key``: spellings, format siblings, tracking
prefixes, link-position segments, download flags) are one track, the others' addresses becoming
alternates and their titles and metadata filling gaps; each track's URL is its first-listed address
unless ``prefer`` names formats; tracks are numbered 1..N.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

from audiofetch.errors import DetectError
from audiofetch.extractors import (
    Extractor,
    OutOfWork,
    WorkBudget,
    all_extractors,
    budget_scope,
    by_name,
)
from audiofetch.formats import from_url as format_from_url
from audiofetch.formats import url_extension
from audiofetch.models import Detection, Page, SkippedStream, Track

from ._group import group_tracks
from ._urls import normalize_url

__all__ = [
    "Finding",
    "Run",
    "choose_extractors",
    "detect_page",
    "merge",
    "run_extractors",
]

log = logging.getLogger(__name__)
_ARTWORK_KEYS = (
    "og:image:secure_url",
    "og:image",
    "og:image:url",
    "twitter:image",
    "twitter:image:src",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """What one source (an extractor, or another pass) found on a page.

    ``priority`` ranks sources as ``Extractor.priority`` does; ``order`` breaks ties (lower first).
    """

    source: str
    priority: int
    order: int
    tracks: tuple[Track, ...]
    skipped: tuple[SkippedStream, ...] = ()
    description: str = ""

    @classmethod
    def of(
        cls,
        extractor: Extractor,
        order: int,
        tracks: Sequence[Track] = (),
        skipped: Sequence[SkippedStream] = (),
    ) -> Finding:
        """The finding of a registered extractor."""
        return cls(
            extractor.name,
            extractor.priority,
            order,
            tuple(tracks),
            tuple(skipped),
            extractor.description,
        )


@dataclass(frozen=True, slots=True)
class Run:
    """The findings of one run of the extractors, and notes on work left undone (shown to the user)."""

    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())


def choose_extractors(plugin: str = "auto") -> tuple[Extractor, ...]:
    """Every registered extractor for ``auto``, else the one named; DetectError naming the choices."""
    if plugin == "auto":
        return all_extractors()
    chosen = by_name(plugin)
    if chosen is None:
        names = ", ".join(["auto", *(e.name for e in all_extractors())])
        raise DetectError(f"unknown plugin {plugin!r}; available: {names}", field="plugin")
    return (chosen,)


def _safely(extractor: Extractor, page: Page) -> tuple[tuple[Track, ...], tuple[SkippedStream, ...]]:
    """An extractor's findings; one that raises despite its contract counts as having found nothing.

    ``OutOfWork`` (the page's budget is spent or cancelled) is passed on to the caller.
    """
    try:
        if not extractor.detects(page):
            return (), ()
        return tuple(extractor.extract(page)), tuple(extractor.skipped(page))
    except OutOfWork:
        raise
    except Exception:  # an extractor's bug must not cost the other extractors' tracks
        log.warning("extractor %s failed on %s", extractor.name, page.url, exc_info=True)
        return (), ()


def run_extractors(page: Page, extractors: Sequence[Extractor], *, budget: WorkBudget | None = None) -> Run:
    """Run each extractor whose ``detects`` is true, all charged to ``budget`` (those that read
    scripts after the others).

    An extractor that runs out of steps finds nothing and the others still run (those that read
    scripts stop at once: the budget stays spent); once the budget is cancelled (the caller's time is
    up) no further extractor runs. Either way one note says what was left undone.
    """
    work = budget or WorkBudget()
    findings: list[Finding] = []
    out_of_steps: list[str] = []
    reason = ""
    stopped: list[str] = []
    # Extractors that evaluate scripts go last: if the scripts outlast the budget, the markup's
    # tracks are already in. ``order`` stays the registry's (it breaks ranking ties).
    schedule = sorted(enumerate(extractors), key=lambda pair: pair[1].reads_scripts)
    with budget_scope(work):
        for position, (order, extractor) in enumerate(schedule):
            if work.cancelled:
                stopped = [e.name for _, e in schedule[position:]]
                break
            try:
                tracks, skipped = _safely(extractor, page)
            except OutOfWork as exc:
                if exc.cancelled:
                    stopped = [e.name for _, e in schedule[position:]]
                    break
                reason = str(exc)
                out_of_steps.append(extractor.name)
                continue
            findings.append(Finding.of(extractor, order, tracks, skipped))
    findings.sort(key=lambda finding: finding.order)
    notes: list[str] = []
    if out_of_steps:
        notes.append(
            f"{reason}: {', '.join(out_of_steps)} found nothing (tracks shown are what the rest found)"
        )
    if stopped:
        notes.append(
            f"detection stopped when the page's time budget ended: {', '.join(stopped)} did not finish"
            " (tracks shown are what was found before)"
        )
    return Run(tuple(findings), tuple(notes))


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


def merge(
    page: Page,
    findings: Sequence[Finding],
    prefer: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Detection:
    """One Detection from every source's findings, following the module's rules."""
    ranked = sorted(
        (f for f in findings if f.tracks),
        key=lambda f: (-f.priority, -len(f.tracks), f.order),
    )
    merged = group_tracks(track for finding in ranked for track in finding.tracks)
    owned = {normalize_url(url) for track in merged for url in (track.url, *track.alternates)}
    tracks = tuple(replace(_preferred(track, prefer), index=number) for number, track in enumerate(merged, 1))
    by_rank = sorted(findings, key=lambda f: (-f.priority, f.order))
    skipped: dict[str, SkippedStream] = {}
    for finding in by_rank:
        for stream in finding.skipped:
            key = normalize_url(stream.url)
            if key not in owned:
                skipped.setdefault(key, stream)
    player = ranked[0].source if ranked else None
    if player is None:
        player = next((f.source for f in by_rank if f.skipped), None)
    return Detection(
        page_url=page.url,
        title=page.title,
        player=player,
        tracks=tracks,
        skipped=tuple(skipped.values()),
        looked_for=tuple(f.description for f in findings if f.description),
        artwork=page_artwork(page),
        notes=tuple(notes),
    )


def detect_page(page: Page, *, plugin: str = "auto", prefer: Sequence[str] = ()) -> Detection:
    """Run the extractors (all for ``auto``, else the one named) on a ready Page and merge. Pure."""
    run = run_extractors(page, choose_extractors(plugin))
    return merge(page, run.findings, prefer, run.notes)
