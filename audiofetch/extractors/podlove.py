"""Podlove Web Player: ``podlovePlayer(selector, episode, config)`` with the episode inline.

The episode's ``audio`` list holds the formats of ONE episode (each with a ``title`` that names the
format, "MP3 Audio"); the track's title is the episode's. An episode given as a URL (``episode.json``)
is fetched by the player at run time and is not read here.
"""

from __future__ import annotations

from audiofetch.extractors import _scripts
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["PodloveExtractor"]


class PodloveExtractor(Extractor):
    name = "podlove"
    description = "Podlove Web Player episodes configured inline (podlovePlayer)"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="podlove/episode.html",
            tracks=(Expected("media/pod042-motivation.m4a", "Motivation, Geschichte, Features"),),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "podlovePlayer", "podlove")

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track | None] = []
        for call in _scripts.calls(page, r"\bpodlovePlayer\b"):
            episode = call.args[1] if len(call.args) > 1 else None
            audio = episode.get("audio") if isinstance(episode, dict) else None
            if not isinstance(episode, dict) or not isinstance(audio, list):
                continue
            sources = [item for item in audio if isinstance(item, dict)]
            urls = [
                str(item["url"])
                for item in sources
                if isinstance(item.get("url"), str) and not str(item.get("mimeType", "")).startswith("video/")
            ]
            show = episode.get("show")
            found = _scripts.track(
                page,
                urls,
                self.name,
                title=_scripts.text_field(episode, "title"),
                album=_scripts.text_field(show, "title") if isinstance(show, dict) else None,
                artwork=_scripts.text_field(episode, "poster"),
                audio_only=True,
            )
            tracks.append(found)
        return _scripts.first_per_url(tracks)
