"""Load a fixture page the way detection does (with its same-site scripts) for the JS-player tests."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

from audiofetch.extractors import Extractor, ExtractorTest
from audiofetch.models import Page, Track
from audiofetch.page import make_page, script_urls

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ORIGIN = "http://127.0.0.1:8000/"


def load(name: str) -> Page:
    """The fixture page ``name`` (under tests/fixtures/pages) as a Page, scripts from its own site read."""
    url = ORIGIN + name
    body = (PAGES / name).read_bytes()
    bare = make_page(url, body, content_type="text/html")
    scripts = {}
    for src in script_urls(bare):
        path = PAGES / src.removeprefix(ORIGIN)
        if src.startswith(ORIGIN) and path.is_file():
            scripts[src] = path.read_text(encoding="utf-8")
    return make_page(url, body, content_type="text/html", fetched_scripts=scripts)


def expected(case: ExtractorTest) -> list[tuple[str, str | None]]:
    base = ORIGIN + case.page
    return [(urljoin(base, track.url), track.title) for track in case.tracks]


def found(extractor: Extractor, page: Page) -> list[tuple[str, str | None]]:
    return [(track.url, track.title) for track in extractor.extract(page)]


def assert_case(extractor: Extractor, case: ExtractorTest) -> None:
    """The extractor alone finds the case's URLs in order; its titles match where it has one.

    (``TESTS`` describe full detection, where another extractor may fill a title this one lacks.)
    """
    page = load(case.page)
    assert extractor.detects(page)
    got = found(extractor, page)
    want = expected(case)
    assert [url for url, _ in got] == [url for url, _ in want]
    assert all(title is None or title == wanted for (_, title), (_, wanted) in zip(got, want, strict=True))
    assert {track.extractor for track in extractor.extract(page)} == {extractor.name}


def by_url(tracks: list[Track], url: str) -> Track:
    return next(track for track in tracks if track.url == ORIGIN + url)
