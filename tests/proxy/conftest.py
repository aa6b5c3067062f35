"""Fixtures for the reverse-proxy tests: the album site, settings under ``/audiofetch``, page helpers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.e2e.harness import site
from tests.hardening_api.serverproc import ADMIN_PASSWORD as ADMIN_PASSWORD

__all__ = ["site"]  # the album site fixture (tests/e2e/harness.py)

PREFIX = "/audiofetch"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
# Attributes whose value the browser turns into a request.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}
    | {"data-autostart"}
)


class _UrlCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and "name" in values:
            self.meta[values["name"]] = values.get("content", "")
        for name, value in values.items():
            if name in URL_ATTRIBUTES:
                self.urls.append((tag, name, value))


def page_urls(html: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Every (tag, attribute, URL) the page makes the browser request, and its ``<meta name>`` values."""
    collector = _UrlCollector()
    collector.feed(html)
    collector.close()
    return collector.urls, collector.meta


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)
