"""Every extractor's TESTS, run through full detection against fixture pages served by a real local server.

Each module is imported on its own, so a module that is missing or broken fails only its own cases.
"""

from __future__ import annotations

import importlib
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urljoin

import pytest
from aiohttp import web

from audiofetch.config import Settings, parse_networks
from audiofetch.detect import detect
from audiofetch.extractors import EXTRACTOR_MODULES, Extractor, ExtractorTest
from audiofetch.net import open_fetcher

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
SETTINGS = Settings(allow_networks=parse_networks("127.0.0.0/8"))
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xspf": "application/xspf+xml",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".m3u": "audio/x-mpegurl",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".pls": "audio/x-scpls",
    ".js": "text/javascript",
}


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def _extractor_of(module: ModuleType) -> type[Extractor]:
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Extractor)
        and value is not Extractor
        and value.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{module.__name__} defines {len(classes)} Extractor subclasses"
    return classes[0]


def _cases() -> Iterator[object]:
    for module_name in EXTRACTOR_MODULES:
        short = module_name.rsplit(".", 1)[1]
        try:
            tests: tuple[ExtractorTest, ...] = _extractor_of(_load(module_name)).TESTS
        except Exception:  # a missing or broken module fails its own case, not the collection
            yield pytest.param(module_name, None, id=f"{short}:import")
            continue
        for test in tests:
            yield pytest.param(module_name, test, id=f"{short}:{test.page}")


async def _serve_fixture(request: web.Request) -> web.StreamResponse:
    relative = request.match_info["path"]
    path = (PAGES / relative).resolve()
    if PAGES not in path.parents or not path.is_file():
        raise web.HTTPNotFound()
    suffix = path.suffix.lower()
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.Response(body=path.read_bytes(), headers={"Content-Type": content_type})


@pytest.fixture
async def pages_server(aiohttp_server):
    app = web.Application()
    app.router.add_get("/{path:.+}", _serve_fixture)
    return await aiohttp_server(app)


@pytest.mark.parametrize(("module_name", "case"), list(_cases()))
async def test_extractor_case(pages_server, module_name: str, case: ExtractorTest | None) -> None:
    extractor = _extractor_of(_load(module_name))  # a missing or broken module fails here
    assert case is not None
    assert (PAGES / case.page).is_file(), f"fixture page {case.page} is missing"
    page_url = str(pages_server.make_url("/" + case.page))
    async with open_fetcher(SETTINGS) as fetcher:
        detection = await detect(fetcher, page_url, settings=SETTINGS, prefer=case.prefer)
    expected = [(urljoin(page_url, t.url), t.title) for t in case.tracks]
    found = [(t.url, t.title) for t in detection.tracks]
    assert found == expected
    assert [t.index for t in detection.tracks] == list(range(1, len(found) + 1))
    assert detection.player == (case.player or extractor.name)
    assert [s.url for s in detection.skipped] == [urljoin(page_url, s) for s in case.skipped]


@pytest.mark.parametrize("module_name", EXTRACTOR_MODULES)
def test_module_defines_one_described_extractor_with_cases(module_name: str) -> None:
    extractor = _extractor_of(_load(module_name))
    assert extractor.name == module_name.rsplit(".", 1)[1]
    assert extractor.description
    assert isinstance(extractor.priority, int)
    assert extractor.TESTS, f"{module_name} has no fixture page"
    for case in extractor.TESTS:
        assert (PAGES / case.page).is_file(), f"fixture page {case.page} is missing"


def test_registry_names_are_unique_and_links_come_last() -> None:
    names = [name.rsplit(".", 1)[1] for name in EXTRACTOR_MODULES]
    assert len(set(names)) == len(names)
    assert names[-1] == "links"
    extractor_names = [_extractor_of(_load(name)).name for name in EXTRACTOR_MODULES]
    assert len(set(extractor_names)) == len(extractor_names)


def test_every_fixture_page_belongs_to_a_case() -> None:
    used: set[str] = set()
    for module_name in EXTRACTOR_MODULES:
        try:
            used |= {case.page for case in _extractor_of(_load(module_name)).TESTS}
        except Exception:
            continue
    documents = {
        str(path.relative_to(PAGES))
        for path in PAGES.rglob("*")
        if path.is_file()
        and path.parent.name not in ("js", "scripts", "audio", "media")
        and path.suffix not in (".js", ".css", ".json")
    }
    assert sorted(documents - used) == []
