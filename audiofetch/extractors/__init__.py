"""Extractors: one module per convention, pure functions of a ``Page`` (see ``base.py``).

Allowed imports: ``audiofetch.models``, ``audiofetch.errors``, ``audiofetch.htmldom``, ``audiofetch.formats``
and the standard library. Never aiohttp, sqlite3 or jinja2 (checked by import-linter).

``EXTRACTOR_MODULES`` is the explicit, ordered registry; order is part of the contract (earlier wins
ties of equal priority) and ``generic`` comes last.
"""

from __future__ import annotations

import importlib
from functools import cache

from audiofetch.extractors._budget import (
    DEFAULT_STEPS,
    OutOfWork,
    WorkBudget,
    budget_scope,
)
from audiofetch.extractors.base import Expected, Extractor, ExtractorTest

__all__ = [
    "DEFAULT_STEPS",
    "EXTRACTOR_MODULES",
    "Expected",
    "Extractor",
    "ExtractorTest",
    "OutOfWork",
    "WorkBudget",
    "all_extractors",
    "budget_scope",
    "by_name",
]

EXTRACTOR_MODULES: tuple[str, ...] = (
    # Non-HTML documents: the URL itself is a file, a feed or a playlist.
    "audiofetch.extractors.direct_audio",
    "audiofetch.extractors.feeds",
    "audiofetch.extractors.m3u",
    "audiofetch.extractors.pls",
    "audiofetch.extractors.xspf",
    # Players configured in JavaScript.
    "audiofetch.extractors.plyr",
    "audiofetch.extractors.howler",
    "audiofetch.extractors.jplayer",
    "audiofetch.extractors.aplayer",
    "audiofetch.extractors.amplitude",
    "audiofetch.extractors.wavesurfer",
    "audiofetch.extractors.podlove",
    "audiofetch.extractors.jwplayer",
    # Players and site builders configured in markup.
    "audiofetch.extractors.mediaelement",
    "audiofetch.extractors.videojs",
    "audiofetch.extractors.wordpress",
    "audiofetch.extractors.squarespace",
    "audiofetch.extractors.soundmanager2",
    "audiofetch.extractors.bandcamp",
    # Plain markup and structured data.
    "audiofetch.extractors.html5_audio",
    "audiofetch.extractors.jsonld",
    "audiofetch.extractors.opengraph",
    "audiofetch.extractors.json_blobs",
    "audiofetch.extractors.script_data",
    "audiofetch.extractors.attributes",
    # Last resort: links to audio files.
    "audiofetch.extractors.links",
)


def extractor_class(module_name: str) -> type[Extractor]:
    """The one ``Extractor`` subclass ``module_name`` defines (RuntimeError when it defines none or more)."""
    module = importlib.import_module(module_name)
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Extractor)
        and value is not Extractor
        and value.__module__ == module_name
    ]
    if len(classes) != 1:
        raise RuntimeError(f"{module_name} must define exactly one Extractor subclass")
    return classes[0]


@cache
def all_extractors() -> tuple[Extractor, ...]:
    """One instance of every registered extractor, in registry order."""
    found = [extractor_class(module_name)() for module_name in EXTRACTOR_MODULES]
    names = [e.name for e in found]
    if len(set(names)) != len(names) or "" in names:
        raise RuntimeError(f"extractor names must be unique and non-empty: {names}")
    return tuple(found)


def by_name(name: str) -> Extractor | None:
    """The extractor called ``name``, or None."""
    for extractor in all_extractors():
        if extractor.name == name:
            return extractor
    return None
