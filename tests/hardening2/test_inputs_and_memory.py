"""Weaknesses 7 and 8: numbers in other scripts' digits, internal text in 400s, tracebacks kept alive.

- ``"３"`` (fullwidth) and ``"٣"`` (Arabic-Indic) passed as numbers; ``"²"`` passed ``isdigit`` and then
  broke ``int()``, whose raw message came back as a 400, as did any stray ``ValueError``. Now only ASCII
  digits are numbers and only our own validation errors are 400s.
- A failed analysis kept its exception with its traceback, and so the frames holding the page and its
  parsed tree, until the job was deleted. Now only the message and fields are kept.
"""

from __future__ import annotations

import gc
import types
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from audiofetch.config import load_settings
from audiofetch.errors import ConfigError, NoAudioError
from audiofetch.jobs import JobSpec
from tests.hardening2.kit import browsers, serve, site
from tests.kit.runner import open_harness, runner_settings
from tests.web.test_api_errors import raising_app

STRANGE_DIGITS = ["３", "٣", "²", "1²", "𝟚", "⑤"]


async def test_numbers_take_ascii_digits_only_and_say_so_in_our_own_words(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server:
        async with browsers(server.base, "127.0.0.1") as (visitor,):
            for text in STRANGE_DIGITS:
                status, body = await visitor.submit(album.url("/tiny"), workers=text)
                assert (status, body) == (400, {"error": "workers must be a whole number from 1 to 20"}), text
                status, body = await visitor.json("GET", "/api/jobs", params={"limit": text})
                assert (status, body) == (400, {"error": "limit must be a whole number from 0 to 200"}), text
            status, body = await visitor.submit(album.url("/tiny"), workers="3")
            assert status == 202 and body["workers"] == 3
        log = server.log.read_text()
    assert "invalid literal" not in log


async def test_a_stray_value_error_is_a_logged_500_without_its_text(aiohttp_client) -> None:
    client = await aiohttp_client(raising_app(ValueError("invalid literal for int() with base 10: '²'")))
    response = await client.get("/api/boom")
    assert response.status == 500
    assert "literal" not in await response.text()


@pytest.mark.parametrize("text", STRANGE_DIGITS)
def test_settings_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ConfigError, match="AUDIOFETCH_WORKERS"):
        load_settings({"AUDIOFETCH_WORKERS": text})
    with pytest.raises(ConfigError, match="AUDIOFETCH_READ_TIMEOUT"):
        load_settings({"AUDIOFETCH_READ_TIMEOUT": text})
    with pytest.raises(ConfigError, match="AUDIOFETCH_MAX_FILE_BYTES"):
        load_settings({"AUDIOFETCH_MAX_FILE_BYTES": f"{text}M"})


def _analysis_frames() -> list[types.FrameType]:
    """Frames of the analysis code still alive: only a kept traceback can hold them once it has ended."""
    gc.collect()
    return [
        item
        for item in gc.get_objects()
        if isinstance(item, types.FrameType) and "/audiofetch/detect/" in item.f_code.co_filename
    ]


async def test_a_failed_analysis_keeps_its_message_but_not_the_page_or_its_tree(
    aiohttp_server, tmp_path: Path
) -> None:
    words = "".join(f"<p class='c{n}'>no audio here {n}</p>" for n in range(2000))

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<html><title>Silent</title><body>{words}</body></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/silent", page)
    server: TestServer = await aiohttp_server(app)
    # Frames another test left suspended (a task its server never finished) are not this job's.
    earlier = _analysis_frames()
    async with open_harness(runner_settings(tmp_path)) as harness:
        job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/silent")), mode="server"))
        for _ in range(2):  # asking twice must not grow anything either
            with pytest.raises(NoAudioError, match=r"(?i)no audio found"):
                await harness.runner.analyse(job.id)
        assert (await harness.store.get(job.id)).status == "failed"
        assert [frame for frame in _analysis_frames() if all(frame is not e for e in earlier)] == []
        failure = harness.runner._engine.memory[job.id].failure  # what the runner keeps of the job
        assert failure is not None
        assert failure.user_message.lower().startswith("no audio found on this page")
        assert failure.__traceback__ is None and failure.__context__ is None and failure.__cause__ is None
