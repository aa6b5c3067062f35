"""``inspect``: detection only. Kept apart from the download commands so that ``inspect`` starts
without importing the download engine, the job store and the taggers (start-up is most of its time)."""

from __future__ import annotations

from collections.abc import Sequence

from audiofetch.config import Settings
from audiofetch.detect import detect
from audiofetch.models import Detection
from audiofetch.net import open_fetcher

__all__ = ["inspect_page"]


async def inspect_page(settings: Settings, url: str, *, plugin: str, prefer: Sequence[str]) -> Detection:
    """Detect the tracks of ``url`` without downloading them."""
    async with open_fetcher(settings) as fetcher:
        return await detect(fetcher, url, settings=settings, plugin=plugin, prefer=prefer)
