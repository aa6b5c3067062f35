"""Build a ``Page`` from a fetched body: decode, parse, find ``<base>``, the title and the scripts.

Pure (no IO): ``audiofetch.detect`` fetches the page and its same-site scripts and calls ``make_page``;
tests call it directly with strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from audiofetch.htmldom import Node, decode_html, parse_html
from audiofetch.models import Page, Script

__all__ = ["is_html", "make_page", "script_urls"]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_JS_TYPES = (
    "",
    "text/javascript",
    "application/javascript",
    "module",
    "text/babel",
    "application/x-javascript",
)


def is_html(content_type: str, body: bytes) -> bool:
    """True for HTML documents (by Content-Type, or by the first bytes when the type says nothing useful)."""
    mime = content_type.partition(";")[0].strip().lower()
    if mime in _HTML_TYPES:
        return True
    if mime in ("", "text/plain", "application/octet-stream"):
        start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        return start.startswith((b"<!doctype html", b"<html")) or b"<body" in start
    return False


def _clean(text: str) -> str | None:
    cleaned = " ".join(text.split())
    return cleaned or None


def _inline_scripts_and_refs(root: Node, base: str) -> list[tuple[str | None, str, str]]:
    """(absolute src or None, type, inline text) for every script element, in document order."""
    found: list[tuple[str | None, str, str]] = []
    for node in root.find_all("script"):
        kind = (node.get("type") or "").strip().lower()
        src = (node.get("src") or "").strip()
        found.append((urljoin(base, src) if src else None, kind, node.text()))
    return found


def script_urls(page: Page) -> list[str]:
    """Absolute URLs of the page's external JavaScript files, in document order, without repeats."""
    if page.root is None:
        return []
    seen: dict[str, None] = {}
    for src, kind, _ in _inline_scripts_and_refs(page.root, page.resolve_base):
        if src and kind in _JS_TYPES and urlsplit(src).scheme in ("http", "https"):
            seen.setdefault(src.partition("#")[0])
    return list(seen)


def make_page(
    url: str,
    body: bytes,
    *,
    content_type: str = "",
    headers: Sequence[tuple[str, str]] = (),
    fetched_scripts: Mapping[str, str] | None = None,
) -> Page:
    """A ``Page`` for ``body`` fetched from ``url`` (the final URL after redirects).

    ``fetched_scripts`` maps absolute script URLs (as ``script_urls`` returns them) to their texts; those
    scripts take their place in ``page.scripts`` in document order, between the inline ones.
    """
    head = body[:512]
    if not is_html(content_type, body):
        text = (
            decode_html(body, content_type) if content_type.startswith("text/") or b"\0" not in head else ""
        )
        return Page(
            url=url, text=text, content_type=content_type, base_url=url, headers=tuple(headers), head=head
        )
    text = decode_html(body, content_type)
    root = parse_html(text)
    base = url
    base_node = root.find(lambda n: n.tag == "base" and bool(n.get("href")))
    if base_node is not None:
        base = urljoin(url, (base_node.get("href") or "").strip())
    title_node = root.find("title")
    title = _clean(title_node.text()) if title_node is not None else None
    scripts: list[Script] = []
    external = fetched_scripts or {}
    for src, kind, inline in _inline_scripts_and_refs(root, base):
        if src is None:
            scripts.append(Script(text=inline, url=None, type=kind))
        elif src.partition("#")[0] in external:
            scripts.append(Script(text=external[src.partition("#")[0]], url=src, type=kind))
    return Page(
        url=url,
        text=text,
        content_type=content_type,
        base_url=base,
        title=title,
        root=root,
        scripts=tuple(scripts),
        headers=tuple(headers),
        head=head,
    )
