"""The contract every extractor follows (the extractor author's manual).

An extractor recognises one convention (a player, a markup pattern, a file format) and turns a ``Page``
into tracks. It is pure and synchronous: the ``Page`` already holds the decoded text, the light DOM
(``page.root``, None for non-HTML bodies) and the texts of inline and same-site scripts
(``page.scripts``), all fetched by ``audiofetch.detect``. Extractors never do IO.

To add one: subclass ``Extractor`` in ``audiofetch/extractors/<convention>.py``, give it a unique
``name``, a cheap ``detects`` on stable markers, and ``extract`` where only the URL is mandatory
(title and the rest are optional, with fallbacks). List the module in ``EXTRACTOR_MODULES``
(``audiofetch/extractors/__init__.py``) before ``generic``, save fixture pages under
``tests/fixtures/pages/<name>/`` and describe them in ``TESTS``: ``tests/extractors/test_registry.py``
serves them from a real local server and checks the exact URLs, order and titles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from audiofetch.models import Page, SkippedStream, Track

__all__ = ["Expected", "Extractor", "ExtractorTest"]


@dataclass(frozen=True, slots=True)
class Expected:
    """One expected track: ``url`` relative to the fixture page's URL (or absolute), and its title."""

    url: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractorTest:
    """A fixture page and what detection must return for it (exact URLs, order, titles).

    ``page`` is a path under ``tests/fixtures/pages/``. ``player`` is the name ``inspect`` must report
    (defaults to the extractor's own name). ``skipped`` lists URLs reported as streams and left out.
    """

    page: str
    tracks: tuple[Expected, ...]
    player: str | None = None
    skipped: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()


class Extractor:
    """Base class: subclasses set ``name``/``description`` and implement ``detects`` and ``extract``.

    ``priority`` breaks ties when several extractors find the same tracks: a specific player (high)
    wins over plain ``<audio>`` markup and links (low), so ``inspect`` reports the player's name and its
    titles. ``reads_scripts``: the extractor evaluates the page's JavaScript (``_scripts``); such
    extractors run after the others, so that a page whose scripts outlast its budget still gets what
    the markup holds. ``TESTS`` are run by the registry test against a real local server.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    priority: ClassVar[int] = 50
    reads_scripts: ClassVar[bool] = False
    TESTS: ClassVar[tuple[ExtractorTest, ...]] = ()

    def detects(self, page: Page) -> bool:
        """Cheap hint that the page uses this convention (markers, not a full extraction)."""
        raise NotImplementedError

    def extract(self, page: Page) -> list[Track]:
        """Tracks in page order, with absolute URLs; ``[]`` when none. Must not raise on odd input."""
        raise NotImplementedError

    def skipped(self, page: Page) -> list[SkippedStream]:
        """Streams seen but left out (live radio, rtmp, live HLS). Most extractors have none."""
        return []
