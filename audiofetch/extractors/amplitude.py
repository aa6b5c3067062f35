"""Amplitude.js: ``Amplitude.init({songs: [...], playlists: {...}})``.

Songs carry ``name``, ``artist``, ``album``, ``url`` and ``cover_art_url``. Playlists (v5) refer to
songs by index or list their own song objects; those are added after the top-level songs. A song
marked ``live: true`` is a stream and is reported, not downloaded.
"""

from __future__ import annotations

from audiofetch.extractors import _scripts
from audiofetch.extractors._jsliteral import JsValue
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["AmplitudeExtractor"]


def _songs(page: Page) -> list[dict[str, JsValue]]:
    songs: list[dict[str, JsValue]] = []
    for call in _scripts.calls(page, r"\bAmplitude\s*\.\s*init\b"):
        config = call.args[0] if call.args else None
        if not isinstance(config, dict):
            continue
        listed = config.get("songs")
        songs += [song for song in listed if isinstance(song, dict)] if isinstance(listed, list) else []
        playlists = config.get("playlists")
        for playlist in playlists.values() if isinstance(playlists, dict) else ():
            inner = playlist.get("songs") if isinstance(playlist, dict) else playlist
            songs += [song for song in inner if isinstance(song, dict)] if isinstance(inner, list) else []
    return songs


class AmplitudeExtractor(Extractor):
    name = "amplitude"
    description = "Amplitude.js songs and playlists (Amplitude.init)"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="amplitude/blue-playlist.html",
            tracks=(
                Expected(
                    "songs/Ancient%20Astronauts%20-%20Risin'%20High%20(feat%20Raashan%20Ahmad).mp3",
                    "Risin' High (feat Raashan Ahmad)",
                ),
                Expected("songs/08%20The%20Gun.mp3", "The Gun"),
                Expected("songs/LORN%20-%20ANVIL.mp3", "Anvil"),
                Expected("songs/bonus-track.mp3", "Bonus Track"),
            ),
            skipped=("/live/;stream",),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "Amplitude.init", "amplitude")

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track | None] = []
        for song in _songs(page):
            if song.get("live") is True:
                continue
            found = _scripts.track(
                page,
                _scripts.options_of(song.get("url")),
                self.name,
                title=_scripts.text_field(song, "name", "title"),
                artist=_scripts.text_field(song, "artist"),
                album=_scripts.text_field(song, "album"),
                artwork=_scripts.text_field(song, "cover_art_url"),
                audio_only=True,
            )
            tracks.append(found)
        return _scripts.first_per_url(tracks)

    def skipped(self, page: Page) -> list[SkippedStream]:
        out: list[SkippedStream] = []
        for song in _songs(page):
            urls = _scripts.options_of(song.get("url"))
            out += _scripts.skipped_streams(page, urls, "live stream" if song.get("live") is True else None)
        return out
