"""SSE (/api/events) and WebSocket (/ws) through a real server: wire bytes, filtering, resume, Origin."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from audiofetch.config import Settings
from audiofetch.jobs import JOB_STATUS, TRACK_PROGRESS, Broker, Event
from audiofetch.web._keys import BROKER_KEY
from audiofetch.web._live import sse_bytes
from tests.web.apikit import SAME_ORIGIN, admin_settings, build_app, login

SEP = b"\r\n\r\n"


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return build_app(admin_settings(settings), stand_in=True)


def broker(client: TestClient) -> Broker:
    found: Broker = client.app[BROKER_KEY]
    return found


async def read_frame(response: aiohttp.ClientResponse) -> bytes:
    return await asyncio.wait_for(response.content.readuntil(SEP), 10)


async def test_sse_headers_and_exact_event_bytes(client: TestClient) -> None:
    response = await client.get("/api/events?job=J1", headers=SAME_ORIGIN)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    event = broker(client).publish(JOB_STATUS, "J1", {"status": "downloading", "title": "Café\nline"})
    frame = await read_frame(response)
    data = json.dumps(
        {
            "id": event.id,
            "type": JOB_STATUS,
            "job_id": "J1",
            "data": {"status": "downloading", "title": "Café\nline"},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert frame == f"id: {event.id}\r\nevent: job.status\r\ndata: {data}\r\n\r\n".encode()
    response.close()


async def test_sse_filters_by_job(client: TestClient) -> None:
    response = await client.get("/api/events?job=mine", headers=SAME_ORIGIN)
    hub = broker(client)
    hub.publish(JOB_STATUS, "other", {"status": "queued"})
    wanted = hub.publish(JOB_STATUS, "mine", {"status": "analyzing"})
    assert await read_frame(response) == sse_bytes(wanted)
    response.close()


@pytest.mark.parametrize("how", ["header", "query"])
async def test_sse_resumes_after_last_event_id(client: TestClient, how: str) -> None:
    hub = broker(client)
    first = hub.publish(JOB_STATUS, "J", {"status": "queued"})
    second = hub.publish(JOB_STATUS, "J", {"status": "analyzing"})
    third = hub.publish(JOB_STATUS, "J", {"status": "ready"})
    if how == "header":
        response = await client.get(
            "/api/events?job=J", headers={**SAME_ORIGIN, "Last-Event-ID": str(first.id)}
        )
    else:
        response = await client.get(f"/api/events?job=J&last_event_id={first.id}", headers=SAME_ORIGIN)
    assert await read_frame(response) == sse_bytes(second)
    assert await read_frame(response) == sse_bytes(third)
    response.close()


async def test_sse_sends_a_heartbeat_comment_when_idle(client: TestClient) -> None:
    response = await client.get("/api/events", headers=SAME_ORIGIN)
    assert await read_frame(response) == b": ping\r\n\r\n"
    response.close()


async def test_sse_ends_with_the_reason_when_the_broker_closes(client: TestClient) -> None:
    response = await client.get("/api/events?job=J", headers=SAME_ORIGIN)
    event = broker(client).publish(JOB_STATUS, "J", {"status": "queued"})
    assert await read_frame(response) == sse_bytes(event)
    broker(client).close("maintenance")
    rest = await asyncio.wait_for(response.content.read(), 10)
    assert rest.endswith(b": closed: maintenance\r\n\r\n")


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
async def test_sse_handshake_from_another_site_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = await client.get("/api/events", headers=headers)
    assert response.status == 403
    assert await response.json() == {"error": "cross-site request refused"}


async def test_sse_handshake_from_the_same_origin_by_origin_header(client: TestClient) -> None:
    origin = f"http://{client.host}:{client.port}"
    response = await client.get("/api/events?job=J", headers={"Origin": origin})
    assert response.status == 200
    response.close()


async def test_websocket_receives_the_same_events_in_order(client: TestClient) -> None:
    hub = broker(client)
    async with client.ws_connect("/ws?job=J", headers=SAME_ORIGIN) as ws:
        await asyncio.sleep(0)  # the handshake is complete: the subscription exists
        sent: list[Event] = [
            hub.publish(JOB_STATUS, "J", {"status": "analyzing"}),
            hub.publish(JOB_STATUS, "other", {"status": "queued"}),
            hub.publish(JOB_STATUS, "J", {"status": "downloading"}),
        ]
        hub.publish_progress("J", 1, final=True, bytes_done=10, size=100)
        received = [await asyncio.wait_for(ws.receive_str(), 10) for _ in range(3)]
    assert received[0] == sent[0].json_text()
    assert received[1] == sent[2].json_text()
    progress = json.loads(received[2])
    assert progress["type"] == TRACK_PROGRESS
    assert progress["data"] == {"tracks": [{"index": 1, "bytes_done": 10, "size": 100}]}
    assert progress["id"] > sent[2].id


async def test_websocket_resumes_after_last_event_id(client: TestClient) -> None:
    hub = broker(client)
    first = hub.publish(JOB_STATUS, "J", {"status": "queued"})
    second = hub.publish(JOB_STATUS, "J", {"status": "analyzing"})
    async with client.ws_connect(f"/ws?job=J&last_event_id={first.id}", headers=SAME_ORIGIN) as ws:
        assert await asyncio.wait_for(ws.receive_str(), 10) == second.json_text()


async def test_websocket_handshake_from_another_site_is_refused(client: TestClient) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert caught.value.status == 403


async def test_websocket_closes_on_an_oversized_message(aiohttp_client, settings: Settings) -> None:
    client = await aiohttp_client(build_app(admin_settings(settings), stand_in=True))
    async with client.ws_connect("/ws", headers=SAME_ORIGIN) as ws:
        await ws.send_str("x" * 10_000)
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert ws.close_code == 1009


async def test_unfiltered_streams_show_a_visitor_only_its_own_jobs(
    aiohttp_client, app: web.Application
) -> None:
    owner = await aiohttp_client(app)
    stranger = await aiohttp_client(owner.server)
    admin = await aiohttp_client(owner.server)
    await login(admin)
    response = await owner.post("/api/download", json={"url": "http://127.0.0.1:9/a"}, headers=SAME_ORIGIN)
    owned = (await response.json())["id"]
    response = await stranger.post("/api/download", json={"url": "http://127.0.0.1:9/b"}, headers=SAME_ORIGIN)
    strangers = (await response.json())["id"]
    streams = {
        name: await who.get("/api/events", headers=SAME_ORIGIN)
        for name, who in (("owner", owner), ("stranger", stranger), ("admin", admin))
    }
    response = await owner.post(f"/api/jobs/{owned}/cancel", headers=SAME_ORIGIN)
    assert response.status == 200
    response = await stranger.post(f"/api/jobs/{strangers}/cancel", headers=SAME_ORIGIN)
    assert response.status == 200

    async def next_job(stream: aiohttp.ClientResponse) -> str:
        while (frame := await read_frame(stream)).startswith(b":"):
            continue
        job_id: str = json.loads(frame.split(b"data: ", 1)[1])["job_id"]
        return job_id

    assert await next_job(streams["owner"]) == owned
    assert await next_job(streams["stranger"]) == strangers
    assert [await next_job(streams["admin"]) for _ in range(2)] == [owned, strangers]
    for stream in streams.values():
        stream.close()
