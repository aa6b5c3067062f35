"""Squarespace audio blocks: ``<div class="sqs-audio-embed" data-url data-title data-author>``."""

from __future__ import annotations

from audiofetch.extractors._html import absolute, in_code_sample, stream_reason, title_text
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.htmldom import Node
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["SquarespaceExtractor"]


def _embeds(page: Page) -> list[Node]:
    if page.root is None or "sqs-audio-embed" not in page.text:
        return []
    return [
        node
        for node in page.root.iter()
        if "sqs-audio-embed" in node.classes()
        and (node.get("data-url") or "").strip()
        and not in_code_sample(node)
    ]


def _duration(node: Node) -> float | None:
    raw = (node.get("data-duration-in-ms") or "").strip()
    return int(raw) / 1000 if raw.isascii() and raw.isdigit() and int(raw) > 0 else None


class SquarespaceExtractor(Extractor):
    """Audio blocks of Squarespace sites, titled by the block's own ``data-title``."""

    name = "squarespace"
    description = "Squarespace audio blocks (sqs-audio-embed data-url/data-title)"
    priority = 70
    TESTS = (
        ExtractorTest(
            page="squarespace/sermons.html",
            tracks=(
                Expected(
                    "https://cdn.example.invalid/static/5ab2/t/634c/1665969570284/"
                    "Faith+Over+Fear.mp3/original/Faith+Over+Fear.mp3",
                    "Faith Over Fear - Philippians 1:2-6",
                ),
                Expected("s/2022-10-09-Hope.mp3", "Hope That Holds - Romans 5:1-5"),
                Expected("s/2022-10-02-Rest.m4a", "Rest for the Weary"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return "sqs-audio-embed" in page.text

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track] = []
        for node in _embeds(page):
            ref = node.get("data-url") or ""
            url = absolute(page, ref)
            if url is None or stream_reason(ref) is not None:
                continue
            tracks.append(
                Track(
                    url,
                    title=title_text(node.get("data-title")),
                    artist=title_text(node.get("data-author")),
                    extractor=self.name,
                    duration=_duration(node),
                    mime=title_text(node.get("data-mime-type")),
                )
            )
        return tracks

    def skipped(self, page: Page) -> list[SkippedStream]:
        found: list[SkippedStream] = []
        for node in _embeds(page):
            ref = (node.get("data-url") or "").strip()
            reason = stream_reason(ref)
            if reason is not None:
                found.append(SkippedStream(absolute(page, ref) or ref, reason))
        return found
