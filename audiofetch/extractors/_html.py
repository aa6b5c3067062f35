"""Small pure helpers shared by extractors: URLs, text, and where a node sits in the page."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

from audiofetch.formats import AudioFormat, from_content_type, from_url
from audiofetch.htmldom import Node
from audiofetch.models import Page

__all__ = ["absolute", "audio_format", "clean_text", "in_code_sample", "is_audio_url"]

_SKIP_SCHEMES = ("javascript", "data", "blob", "mailto", "tel", "about")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
# Characters kept as they are when quoting a URL found in a page: reserved ones and existing escapes.
_SAFE = ":/?#[]@!$&'()*+,;=%~"
_CODE_TAGS = frozenset(("pre", "code", "textarea", "template", "noscript", "xmp", "samp", "kbd"))


def absolute(page: Page, ref: str | None, *, base: str | None = None) -> str | None:
    """``ref`` as an absolute http(s) URL against the page's base (``<base href>`` honoured).

    Protocol-relative refs take the page's scheme; raw spaces and other unsafe characters are
    percent-encoded (existing escapes are kept). None for empty refs, fragments and non-fetchable schemes.
    """
    if ref is None:
        return None
    ref = ref.strip().replace("\\/", "/")
    if not ref or ref.startswith("#"):
        return None
    scheme = urlsplit(ref).scheme.lower() if ":" in ref.split("/", 1)[0] else ""
    if scheme in _SKIP_SCHEMES:
        return None
    url = urljoin(base or page.resolve_base, ref)
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return quote(url, safe=_SAFE) if _UNSAFE.search(url) or not url.isascii() else url


def clean_text(text: str | None) -> str | None:
    """Whitespace collapsed and trimmed; None when nothing is left."""
    if not text:
        return None
    cleaned = " ".join(text.split())
    return cleaned or None


def is_audio_url(url: str) -> bool:
    """True when the URL's path ends in an audio extension (query strings and tokens allowed)."""
    return from_url(url) is not None


def audio_format(url: str, mime: str | None = None) -> AudioFormat | None:
    """The format a URL and an optional ``type`` attribute announce."""
    return from_content_type(mime) or from_url(url)


def in_code_sample(node: Node) -> bool:
    """True when the node is markup shown as code (inside ``<pre>``, ``<code>``, ``<template>`` ...)."""
    return any(ancestor.tag in _CODE_TAGS for ancestor in node.ancestors())
