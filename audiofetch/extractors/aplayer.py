"""APlayer: ``new APlayer({audio: [...] | {...}})`` (v1: ``music``) and ``<meting-js url=...>``.

A ``<meting-js>`` that only names a music service and an id (``server="netease" id="60198"``) asks a
remote API for its list when the page runs: that is not a list the page holds, so it is left out.
"""

from __future__ import annotations

from audiofetch.extractors import _html, _scripts
from audiofetch.extractors._jsliteral import JsValue
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["APlayerExtractor"]


def _songs(config: JsValue) -> list[dict[str, JsValue]]:
    if not isinstance(config, dict):
        return []
    songs = config.get("audio", config.get("music"))
    if isinstance(songs, dict):
        return [songs]
    return [song for song in songs if isinstance(song, dict)] if isinstance(songs, list) else []


class APlayerExtractor(Extractor):
    name = "aplayer"
    description = "APlayer playlists (new APlayer) and MetingJS players with a direct url"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="aplayer/playlist.html",
            tracks=(
                Expected("music/hikarunara.mp3", "光るなら"),
                Expected("music/preparation.m4a", "Preparation"),
                Expected("music/yoru-ni-kakeru.mp3", "夜に駆ける"),
            ),
        ),
        ExtractorTest(page="aplayer/meting.html", tracks=(Expected("audio1110/0.m4a", "rainymood"),)),
    )

    def detects(self, page: Page) -> bool:
        has_tag = page.root is not None and page.root.find("meting-js") is not None
        return has_tag or _scripts.mentions(page, "APlayer", "aplayer")

    def extract(self, page: Page) -> list[Track]:
        tracks: list[Track | None] = []
        for call in _scripts.calls(page, r"\bnew\s+APlayer\b"):
            for song in _songs(call.args[0] if call.args else None):
                title = _scripts.text_field(song, "name", "title")
                artist = _scripts.text_field(song, "artist", "author")
                cover = _scripts.text_field(song, "cover", "pic")
                urls = _scripts.options_of(song.get("url"))
                found = _scripts.track(
                    page, urls, self.name, title=title, artist=artist, artwork=cover, audio_only=True
                )
                tracks.append(found)
        if page.root is not None:
            for node in page.root.find_all("meting-js"):
                if _html.in_code_sample(node) or not node.get("url"):
                    continue
                title = _html.clean_text(node.get("name") or node.get("title"))
                artist = _html.clean_text(node.get("artist"))
                found = _scripts.track(
                    page,
                    [node.get("url") or ""],
                    self.name,
                    title=title,
                    artist=artist,
                    artwork=node.get("cover"),
                    audio_only=True,
                )
                tracks.append(found)
        return _scripts.first_per_url(tracks)
