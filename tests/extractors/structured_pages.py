"""Helpers for the structured-data extractor tests: fixture bodies and pages built with ``make_page``."""

from __future__ import annotations

from pathlib import Path

from audiofetch.models import Page
from audiofetch.page import make_page

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
HOST = "http://127.0.0.1:8000"


def fixture_page(relative: str, content_type: str) -> Page:
    """The fixture document at ``tests/fixtures/pages/<relative>``, as served from ``HOST``."""
    return make_page(f"{HOST}/{relative}", (PAGES / relative).read_bytes(), content_type=content_type)


def text_page(
    url: str, body: str, content_type: str = "text/html", headers: tuple[tuple[str, str], ...] = ()
) -> Page:
    """A page for an inline document body."""
    return make_page(url, body.encode(), content_type=content_type, headers=headers)
