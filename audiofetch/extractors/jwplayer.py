"""JW Player: ``jwplayer(id).setup({file | sources | playlist})``.

A ``playlist`` given as a URL points at a remote feed that the player loads at run time: not inline
tracks. Video files are left out (JW Player plays both); HLS/DASH manifests are reported as streams.
"""

from __future__ import annotations

from audiofetch.extractors import _scripts
from audiofetch.extractors._jsliteral import JsValue
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["JWPlayerExtractor"]

_SETUP = r"\bjwplayer\s*\([^()]*\)\s*\.\s*setup\b"
_AUDIO_TYPES = frozenset(
    ("mp3", "aac", "m4a", "oga", "ogg", "vorbis", "wav", "flac", "audio/mpeg", "audio/mp4")
)


def _items(page: Page) -> list[dict[str, JsValue]]:
    items: list[dict[str, JsValue]] = []
    for call in _scripts.calls(page, _SETUP):
        config = call.args[0] if call.args else None
        if not isinstance(config, dict):
            continue
        playlist = config.get("playlist")
        if isinstance(playlist, list):
            items += [item for item in playlist if isinstance(item, dict)]
        elif "file" in config or "sources" in config:
            items.append(config)
    return items


def _refs(item: dict[str, JsValue]) -> tuple[list[str], list[str]]:
    """(files, audio-typed files): the item's files, and those a source's ``type`` calls audio."""
    refs = _scripts.options_of(item.get("file"))
    typed: list[str] = []
    sources = item.get("sources")
    for source in sources if isinstance(sources, list) else ():
        if isinstance(source, dict) and isinstance(source.get("file"), str):
            refs.append(str(source["file"]))
            if str(source.get("type", "")).lower() in _AUDIO_TYPES:
                typed.append(str(source["file"]))
    return refs, typed


class JWPlayerExtractor(Extractor):
    name = "jwplayer"
    description = "JW Player setups (file, sources, inline playlist)"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="jwplayer/podcast.html",
            tracks=(
                Expected("episodes/ep12-the-harbour.mp3", "Ep. 12: The harbour"),
                Expected("episodes/ep13-night-shift.m4a", "Ep. 13: Night shift"),
            ),
            skipped=("https://cdn.example.invalid/live/stream.m3u8",),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "jwplayer")

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track | None] = []
        for item in _items(page):
            refs, typed = _refs(item)
            title = _scripts.text_field(item, "title")
            found = _scripts.track(page, refs, self.name, title=title)
            if found is None and typed:
                found = _scripts.track(page, typed, self.name, title=title, audio_only=True)
            tracks.append(found)
        return _scripts.first_per_url(tracks)

    def skipped(self, page: Page) -> list[SkippedStream]:
        return _scripts.skipped_streams(page, [ref for item in _items(page) for ref in _refs(item)[0]])
