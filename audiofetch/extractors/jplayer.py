"""jPlayer: ``$(id).jPlayer("setMedia", {title, mp3, oga})`` and ``new jPlayerPlaylist(sel, [...], opts)``.

Media objects name each format by key (``mp3``, ``m4a``, ``oga``, ...): those are the formats of one
track, ordered as the player's ``supplied`` option lists them (its order of preference). Video keys
(``m4v``, ``ogv``, ``webmv``, ``flv``) are left out; ``rtmpa`` is a stream.
"""

from __future__ import annotations

from audiofetch.extractors import _scripts
from audiofetch.extractors._jsliteral import JsValue
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, SkippedStream, Track

__all__ = ["JPlayerExtractor"]

_AUDIO_KEYS = ("mp3", "m4a", "webma", "oga", "ogg", "wav", "fla", "flac", "aac")
_STREAM_KEYS = ("rtmpa",)


def _supplied(page: Page) -> list[str]:
    """Format keys in the order the first ``supplied`` option gives them (default: jPlayer's own)."""
    for call in _scripts.calls(page, r"\.jPlayer\b|\bjPlayerPlaylist\b", nested=True):
        for arg in call.args:
            if isinstance(arg, dict) and isinstance(arg.get("supplied"), str):
                return [key.strip() for key in str(arg["supplied"]).split(",") if key.strip()]
    return ["mp3"]


def _media_list(page: Page) -> list[dict[str, JsValue]]:
    """Media objects in page order: setMedia calls and playlist arrays."""
    found: list[tuple[int, list[dict[str, JsValue]]]] = []
    for call in _scripts.calls(page, r"\.jPlayer\b", nested=True):
        if len(call.args) >= 2 and call.args[0] == "setMedia" and isinstance(call.args[1], dict):
            found.append((call.start, [call.args[1]]))
    for call in _scripts.calls(page, r"\bnew\s+jPlayerPlaylist\b"):
        items = call.args[1] if len(call.args) > 1 else None
        if isinstance(items, list):
            found.append((call.start, [item for item in items if isinstance(item, dict)]))
    return [media for _, group in found for media in group]


def _formats(media: dict[str, JsValue], supplied: list[str]) -> list[str]:
    order = [key for key in supplied if key in _AUDIO_KEYS] + [k for k in _AUDIO_KEYS if k not in supplied]
    return [value for key in order if isinstance(value := media.get(key), str) and value.strip()]


class JPlayerExtractor(Extractor):
    name = "jplayer"
    description = "jPlayer media (setMedia) and jPlayerPlaylist playlists"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="jplayer/single.html",
            tracks=(Expected("media/Miaow-07-Bubble.m4a", "Bubble"),),
        ),
        ExtractorTest(
            page="jplayer/playlist.html",
            tracks=(
                Expected("audio/ogg/TSP-01-Cro_magnon_man.ogg", "Cro Magnon Man"),
                Expected("audio/ogg/TSP-05-Your_face.ogg", "Your Face"),
                Expected("audio/mp3/Miaow-02-Hidden.mp3", "Hidden"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "jPlayer", "jplayer")

    def extract(self, page: Page) -> list[Track]:
        supplied = _supplied(page)
        tracks: list[Track | None] = []
        for media in _media_list(page):
            if not any(key in media for key in _AUDIO_KEYS):
                continue  # video only (m4v, ogv, webmv) or a stream
            title = _scripts.text_field(media, "title")
            artist = _scripts.text_field(media, "artist")
            poster = _scripts.text_field(media, "poster")
            urls = _formats(media, supplied)
            found = _scripts.track(
                page, urls, self.name, title=title, artist=artist, artwork=poster, audio_only=True
            )
            tracks.append(found)
        return _scripts.first_per_url(tracks)

    def skipped(self, page: Page) -> list[SkippedStream]:
        out: list[SkippedStream] = []
        for media in _media_list(page):
            streams = [v for k in _STREAM_KEYS if isinstance(v := media.get(k), str)]
            out += _scripts.skipped_streams(page, streams, "rtmp stream")
            out += _scripts.skipped_streams(page, _formats(media, list(_AUDIO_KEYS))[:1])
        return out
