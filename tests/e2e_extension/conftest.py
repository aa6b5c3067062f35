"""The browser the extension tests share: Debian's Chromium with the unpacked extension loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_extension.harness import CHROMIUM, chromium_args, extension_id

EXT_ORIGIN = f"chrome-extension://{extension_id()}"


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    """(context, service worker) of a Chromium profile with the extension loaded; skips if it cannot be."""
    playwright_api = pytest.importorskip("playwright.async_api", reason="needs the playwright package")
    async with playwright_api.async_playwright() as pw:
        try:
            context = await pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=str(CHROMIUM),
                headless=False,
                args=chromium_args(),
            )
        except playwright_api.Error as exc:
            pytest.skip(f"{CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        try:
            workers = [w for w in context.service_workers if w.url.startswith(EXT_ORIGIN)]
            if not workers:
                try:
                    workers = [await context.wait_for_event("serviceworker", timeout=15_000)]
                except playwright_api.TimeoutError:
                    pytest.skip(f"{CHROMIUM} ignored --load-extension: no service worker from {EXT_ORIGIN}")
            assert workers[0].url == f"{EXT_ORIGIN}/background.js"
            yield context, workers[0]
        finally:
            await context.close()
