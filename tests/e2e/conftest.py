"""Fixtures for the page tests: the album site, a real ``audiofetch serve`` and headless Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import audiofetch_server, site
from tests.kit.browser import CHROMIUM, chromium

__all__ = ["site"]  # the album site fixture, shared with tests/proxy

playwright_api = pytest.importorskip("playwright.async_api", reason="needs the playwright package")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)"))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """A real ``audiofetch serve`` with its own data folder; yields its base URL."""
    async with audiofetch_server(tmp_path / "data") as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never ``playwright install``)."""
    async with chromium() as launched:
        yield launched


def watch_console(page: Any) -> list[str]:
    """Collect the page's script errors and CSP refusals (a list the test asserts empty at the end).

    Failed loads are left out: the tests provoke 4xx answers on purpose (a refused URL, a wrong password).
    """
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: Any) -> None:
        text = message.text
        if message.type == "error" and not text.startswith("Failed to load resource"):
            problems.append(f"console: {text}")
        elif "Content Security Policy" in text:
            problems.append(f"csp: {text}")

    page.on("console", on_console)
    return problems


async def wait_until(page: Any, expression: str, arg: Any = None, timeout: float = 30.0) -> Any:
    """Poll ``expression`` (a JS function of ``arg``) until it is truthy; its value.

    Playwright's ``wait_for_function`` compiles its predicate with ``eval`` inside the page, which the
    page's CSP rightly refuses, so the polling is done from here.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await page.evaluate(expression, arg)
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)
