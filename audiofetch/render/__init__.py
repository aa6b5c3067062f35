"""The render pass: run a page's scripts in headless Chromium, press play, record what it would play.

Every request the browser makes goes through ``EgressProxy``, which applies the fetcher's address guard
to the address each request really connects to; Chromium is started with no other network path
(``chromium_args``). ``detect_rendered`` is detection with the pass, per ``AUDIOFETCH_RENDER``.

Imports: playwright, aiohttp (its resolver interface), ``audiofetch.detect``, ``audiofetch.net``,
``audiofetch.page`` and the layers below. Used by ``jobs`` and ``cli``.
"""

from __future__ import annotations

from ._chromium import CHROMIUM, chromium_args, render_unavailable
from ._driver import RecordedMedia, Rendered, control_title, is_media_url
from ._need import render_reason
from ._pass import PageResult, RenderMode, combine, detect_rendered
from ._proxy import EgressProxy
from ._renderer import PAGE_BUDGET, Renderer

__all__ = [
    "CHROMIUM",
    "PAGE_BUDGET",
    "EgressProxy",
    "PageResult",
    "RecordedMedia",
    "RenderMode",
    "Rendered",
    "Renderer",
    "chromium_args",
    "combine",
    "control_title",
    "detect_rendered",
    "is_media_url",
    "render_reason",
    "render_unavailable",
]
