"""``POST /api/extension/pair`` and ``POST /api/page`` through a real server with the real runner:
who may pair, who may send, the size limits, cookie validation, the job limits, and that a sent page's
job is never handed to another request."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.web._keys import WebOptions
from tests.web.apikit import SAME_ORIGIN, admin_settings, bearer, build_app, login

EXTENSION = "chrome-extension://nicfbjnacidloaahjehhhkgoeiepdolg"
OTHER_EXTENSION = "chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh"
SECRET = "c00kie-value-never-echoed"


@pytest.fixture
async def held_track(aiohttp_server: Any) -> AsyncIterator[str]:
    """A track whose answer waits until the test ends, so jobs probing it stay active."""
    gate = asyncio.Event()

    async def track(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(body=b"ID3" + b"\0" * 64, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/held.mp3", track)
    server = await aiohttp_server(app, host="127.0.0.1")
    yield f"http://127.0.0.1:{server.port}/held.mp3"
    gate.set()


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings) -> Any:
    """A client of a server that lists ``EXTENSION``, with ``settings`` changed as asked."""

    async def make(**overrides: Any) -> TestClient:
        app = build_app(
            admin_settings(settings).with_overrides(**overrides),
            options=WebOptions(cors_origins=(EXTENSION,), heartbeat=0.2),
        )
        client: TestClient = await aiohttp_client(app)
        return client

    return make


async def pair(client: TestClient) -> str:
    response = await client.post("/api/extension/pair", headers={"Origin": EXTENSION})
    assert response.status == 200, await response.text()
    token: str = (await response.json())["token"]
    return token


def page(track: str, **extra: Any) -> dict[str, Any]:
    html = f'<!DOCTYPE html><title>Sent</title><audio src="{track}"></audio>'
    site = track.rsplit("/", 1)[0]
    return {"url": f"{site}/members/album", "html": html, "title": "Sent", **extra}


async def send(client: TestClient, token: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {"Origin": EXTENSION, "Content-Type": "application/json", **(bearer(token) if token else {})}
    response = await client.post("/api/page", data=io.BytesIO(json.dumps(body).encode()), headers=headers)
    return response.status, await response.json()


async def test_only_a_listed_extension_can_pair(make_client: Any) -> None:
    client = await make_client()
    token = await pair(client)
    assert token.startswith("af1.")
    for origin in (None, "https://example.org", OTHER_EXTENSION):
        headers = {"Origin": origin} if origin else {}
        response = await client.post("/api/extension/pair", headers=headers)
        assert response.status == 403, origin
        assert "error" in await response.json()


async def test_sending_needs_the_pairing_or_admin_token(make_client: Any, held_track: str) -> None:
    client = await make_client()
    assert (await send(client, None, page(held_track)))[0] == 401
    assert (await send(client, "af1.forged.token", page(held_track)))[0] == 401
    status, job = await send(client, await pair(client), page(held_track))
    assert status == 202 and job["mode"] == "browser" and job["duplicate"] is False
    status, _ = await send(client, await login(client), page(held_track))
    assert status == 202


async def test_a_sent_page_gets_its_own_job_that_no_one_else_is_given(
    make_client: Any, held_track: str
) -> None:
    client = await make_client()
    token = await pair(client)
    _, first = await send(client, token, page(held_track))
    _, second = await send(client, token, page(held_track))
    fetched = await client.post("/api/download", json={"url": page(held_track)["url"]}, headers=SAME_ORIGIN)
    assert fetched.status == 202
    ids = {first["id"], second["id"], (await fetched.json())["id"]}
    assert len(ids) == 3


async def test_the_page_size_limit_applies(make_client: Any, held_track: str) -> None:
    client = await make_client(max_page_bytes=4000)
    token = await pair(client)
    body = page(held_track)
    body["html"] += "<!--" + "é" * 2000 + "-->"  # under 4000 characters, over 4000 bytes
    status, error = await send(client, token, body)
    assert status == 413 and "4000 byte page limit" in error["error"]
    status, error = await send(client, token, {**page(held_track), "padding": "x" * (2 * 4000 + 1024 * 1024)})
    assert status == 413 and "larger than" in error["error"]


@pytest.mark.parametrize(
    ("cookie", "message"),
    [
        ({"name": "s", "value": f"{SECRET}\r\nX-Injected: 1", "domain": "127.0.0.1"}, "value"),
        ({"name": "s;x", "value": SECRET, "domain": "127.0.0.1"}, "name"),
        ({"name": "s", "value": SECRET, "domain": "evil.example/path"}, "domain"),
        ({"name": "s", "value": SECRET, "domain": "a", "path": "nope"}, "path"),
        ({"name": "s", "value": SECRET, "domain": "a", "secure": "yes"}, "true or false"),
    ],
)
async def test_unusable_cookies_are_refused_without_echoing_them(
    make_client: Any, held_track: str, cookie: dict[str, Any], message: str
) -> None:
    client = await make_client()
    status, error = await send(client, await pair(client), page(held_track, cookies=[cookie]))
    assert status == 400 and message in error["error"]
    assert SECRET not in error["error"]


async def test_the_per_client_job_limit_applies(make_client: Any, held_track: str) -> None:
    client = await make_client(max_jobs_per_client=1)
    token = await pair(client)
    assert (await send(client, token, page(held_track)))[0] == 202
    status, error = await send(client, token, page(held_track))
    assert status == 429 and "jobs running" in error["error"]
    # A pairing from the same browser (same session cookie) is the same client; another browser's is not.
    assert (await send(client, await pair(client), page(held_track)))[0] == 429
    client.session.cookie_jar.clear()
    assert (await send(client, await pair(client), page(held_track)))[0] == 202


async def test_the_jobs_sent_are_the_pairing_browsers_own(make_client: Any, held_track: str) -> None:
    client = await make_client()
    token = await pair(client)  # the client keeps the session cookie the pairing set, as a browser does
    _, job = await send(client, token, page(held_track))
    mine = await (await client.get("/api/jobs")).json()
    assert [j["id"] for j in mine["jobs"]] == [job["id"]]
    cancelled = await client.post(f"/api/jobs/{job['id']}/cancel", headers=SAME_ORIGIN)
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    client.session.cookie_jar.clear()
    assert (await (await client.get("/api/jobs")).json())["jobs"] == []


async def test_a_private_page_address_is_refused_up_front(make_client: Any) -> None:
    client = await make_client()
    body = {"url": "http://10.0.0.1/admin", "html": "<audio src='/a.mp3'></audio>"}
    status, error = await send(client, await pair(client), body)
    assert status == 403 and "10.0.0.1" in error["error"]


async def test_a_page_of_several_megabytes_is_taken(make_client: Any, held_track: str) -> None:
    client = await make_client()  # the default page limit, 5 MiB: far over the 64 KiB of other routes
    body = page(held_track)
    body["html"] += "<p>" + "Liner notes. " * 250_000 + "</p>"  # 3.25 MB
    status, job = await send(client, await pair(client), body)
    assert status == 202, job
