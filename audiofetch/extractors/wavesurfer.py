"""wavesurfer.js: ``WaveSurfer.create({url})`` (v7) and ``<instance>.load(url)`` (every version).

Only ``.load`` calls on a variable that holds a wavesurfer instance count (jQuery's ``.load`` fetches
HTML), and only with a URL written in the page: a URL taken from a clicked link is the links' job.
"""

from __future__ import annotations

import re

from audiofetch.extractors import _scripts
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest
from audiofetch.models import Page, Track

__all__ = ["WaveSurferExtractor"]

_INSTANCE = re.compile(
    r"([A-Za-z_$][\w$]*)\s*=\s*(?:WaveSurfer\s*\.\s*create\b|Object\s*\.\s*create\s*\(\s*WaveSurfer\b)"
)


class WaveSurferExtractor(Extractor):
    name = "wavesurfer"
    description = "wavesurfer.js waveforms (WaveSurfer.create url, .load)"
    priority = 80
    reads_scripts = True
    TESTS = (
        ExtractorTest(
            page="wavesurfer/index.html",
            tracks=(
                Expected("media/demo.wav"),
                Expected("media/stereo.mp3"),
                Expected("media/interview.ogg"),
            ),
        ),
    )

    def detects(self, page: Page) -> bool:
        return _scripts.mentions(page, "WaveSurfer", "wavesurfer")

    def extract(self, page: Page) -> list[Track]:
        names = {m.group(1) for text in _scripts.script_texts(page) for m in _INSTANCE.finditer(text)}
        loads = "|".join(map(re.escape, sorted(names)))
        pattern = r"\bWaveSurfer\s*\.\s*create\b" + (
            rf"|(?<![\w$.])(?:{loads})\s*\.\s*load\b" if loads else ""
        )
        tracks: list[Track | None] = []
        for call in _scripts.calls(page, pattern):
            first = call.args[0] if call.args else None
            ref = first.get("url") if isinstance(first, dict) else first
            track = _scripts.track(page, [ref], self.name, audio_only=True) if isinstance(ref, str) else None
            tracks.append(track)
        return _scripts.first_per_url(tracks)
