"""The one error table: each error class through the real middleware to its status, body and headers."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch import errors
from audiofetch.web._middlewares import (
    ERROR_STATUSES,
    GENERIC_MESSAGE,
    SECURITY_HEADERS,
    setup_middlewares,
    status_for,
)

CASES: list[tuple[BaseException, int]] = [
    (errors.BadRequestError("url is required"), 400),
    (errors.BlockedURLError("refused: 10.0.0.1 is a private address", url="http://10.0.0.1/"), 403),
    (errors.NoAudioError("no audio found on the page"), 422),
    (errors.ParseError("the page could not be parsed in time"), 422),
    (errors.DetectError("nothing recognisable"), 422),
    (errors.ExtractError("the player data is unreadable", extractor="jplayer"), 422),
    (errors.DownloadError("track 2 failed"), 502),
    (errors.JobNotFound("no job with id 'x'"), 404),
    (errors.JobActiveError("the job is still running"), 409),
    (errors.StreamBusyError("another client is receiving this ZIP"), 409),
    (errors.JobLimitError("too many jobs in flight", retry_after=2.5), 429),
    (errors.JobCancelled("the job was cancelled"), 409),
    (errors.JobError("this job has no stream: it runs in server mode"), 409),
    (errors.FetchError("the page answered 500", status=500), 502),
    (errors.TooLargeError("the page is over 5 MiB"), 502),
    (errors.AdminRequired(), 401),
    (errors.WrongPassword(), 401),
    (errors.NotOwner(), 403),
    (errors.AuthRequired("pair first"), 401),
    (errors.AccessError("not a listed extension"), 403),
    (errors.LoginThrottled(3), 429),
]


def raising_app(exc: BaseException) -> web.Application:
    app = web.Application()
    setup_middlewares(app)

    async def boom(request: web.Request) -> web.Response:
        raise exc

    app.router.add_get("/api/boom", boom)
    app.router.add_get("/page", boom)
    return app


@pytest.mark.parametrize(("exc", "status"), CASES, ids=[type(e).__name__ for e, _ in CASES])
async def test_each_error_has_its_status_and_message(aiohttp_client, exc: BaseException, status: int) -> None:
    client: TestClient = await aiohttp_client(raising_app(exc))
    response = await client.get("/api/boom")
    assert response.status == status
    assert await response.json() == {"error": str(exc)}
    if status == 429:
        assert response.headers["Retry-After"] == "3"
    else:
        assert "Retry-After" not in response.headers
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_every_table_row_is_reachable() -> None:
    covered = {type(exc) for exc, _ in CASES}
    for kind, status in ERROR_STATUSES:
        assert any(issubclass(c, kind) for c in covered), kind
        first = next(e for e, _ in CASES if isinstance(e, kind))
        assert status_for(first) == status or type(first) is not kind


async def test_unexpected_errors_are_a_generic_500_with_a_logged_traceback(
    aiohttp_client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client: TestClient = await aiohttp_client(raising_app(KeyError("secret internals")))
    with caplog.at_level(logging.ERROR, logger="audiofetch.web._middlewares"):
        response = await client.get("/api/boom")
    assert response.status == 500
    assert await response.json() == {"error": GENERIC_MESSAGE}
    record = next(r for r in caplog.records if r.name == "audiofetch.web._middlewares")
    assert record.exc_info is not None and record.exc_info[0] is KeyError


async def test_unexpected_audiofetch_errors_are_bugs_too(aiohttp_client) -> None:
    client: TestClient = await aiohttp_client(raising_app(errors.ZipError("size differs")))
    response = await client.get("/api/boom")
    assert response.status == 500
    assert await response.json() == {"error": GENERIC_MESSAGE}


async def test_pages_get_the_same_statuses_as_plain_text(aiohttp_client) -> None:
    client: TestClient = await aiohttp_client(raising_app(errors.NoAudioError("no audio found on the page")))
    response = await client.get("/page")
    assert response.status == 422
    assert await response.text() == "no audio found on the page"


async def test_router_errors_are_json_on_api_paths(aiohttp_client) -> None:
    client: TestClient = await aiohttp_client(raising_app(ValueError("x")))
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    assert await response.json() == {"error": "not found"}
    response = await client.post("/api/boom", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status == 405
    assert await response.json() == {"error": "method not allowed"}
    assert "GET" in response.headers["Allow"]
