"""Through a real nginx: Debian's nginx with TLS, running docs/deploy.md's own ``map`` and ``location``
blocks, in front of a real ``audiofetch serve`` under ``/audiofetch`` that trusts it, fetching from a local
album site.

Everything listens on 127.0.0.1. The client trusts a certificate made for the test.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import album_url, track_bytes, zip_tracks
from tests.kit.wait import job_over_http
from tests.proxy.conftest import PREFIX
from tests.proxy.nginxkit import NGINX, proxied_audiofetch

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install nginx-light; ./run.sh test does)"
)


# -- the test ------------------------------------------------------------------------------------------


async def _ws_events(
    session: aiohttp.ClientSession, url: str, origin: str, ready: asyncio.Event
) -> list[str]:
    types: list[str] = []
    async with session.ws_connect(url, headers={"Origin": origin}) as ws:
        async for message in ws:
            event = json.loads(message.data)
            types.append(event["type"])
            ready.set()  # the first event (the snapshot) came through while the socket stays open
            if event["type"] == "job.completed":
                break
    return types


async def _sse_events(
    session: aiohttp.ClientSession, url: str, origin: str, ready: asyncio.Event
) -> list[str]:
    types: list[str] = []
    async with session.get(url, headers={"Origin": origin}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        async for line in response.content:
            if line.startswith(b"event: "):
                types.append(line[7:].strip().decode())
                ready.set()  # unbuffered: the snapshot arrives although the stream stays open
                if types[-1] == "job.completed":
                    break
    return types


async def test_through_nginx_under_a_sub_path(tmp_path: Path, site: Any) -> None:
    _, upstream = site
    async with proxied_audiofetch(tmp_path) as (public, tls):
        base = f"{public}{PREFIX}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session:
            # The home page: every URL under the prefix; https at the proxy makes the cookie Secure.
            async with session.get(f"{base}/", headers={"Sec-Fetch-Site": "none"}) as home:
                assert home.status == 200
                html = await home.text()
                cookie = home.cookies["AUDIOFETCH_SESSION"]
                assert cookie["secure"] and cookie["path"] == PREFIX
            assert f'action="{PREFIX}/jobs"' in html and f"{PREFIX}/static/js/live.js" in html
            assert f'"{base}/?url="' in html.replace("&#34;", '"')  # the bookmarklet: public scheme and host
            async with session.get(f"{public}{PREFIX}", allow_redirects=False) as bare:
                assert bare.status == 308 and bare.headers["Location"] in (f"{PREFIX}/", f"{base}/")

        # A script (no cookie) submits a browser-mode job; the Origin check sees https and the public host.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as script:
            started = await script.post(
                f"{base}/api/download",
                json={"url": album_url(upstream, "nginx", size=300_000, pace=2)},
                headers={"Origin": public},
            )
            assert started.status == 202, await started.text()
            job_id = (await started.json())["id"]
            assert started.headers["Location"] == f"{PREFIX}/api/status/{job_id}"
            await job_over_http(script, job_id, "ready", base=f"{public}{PREFIX}")

            # WebSocket and SSE through nginx, then the ZIP: the events arrive while it streams.
            ws_ready, sse_ready = asyncio.Event(), asyncio.Event()
            wss = base.replace("https://", "wss://")
            ws_task = asyncio.create_task(
                _ws_events(script, f"{wss}/ws?job={job_id}&last_event_id=0", public, ws_ready)
            )
            sse_task = asyncio.create_task(
                _sse_events(script, f"{base}/api/events?job={job_id}&last_event_id=0", public, sse_ready)
            )
            await asyncio.wait_for(asyncio.gather(ws_ready.wait(), sse_ready.wait()), 30)
            async with script.get(f"{base}/api/stream/{job_id}") as streamed:
                assert streamed.status == 200
                body = await streamed.read()
                assert int(streamed.headers["Content-Length"]) == len(body)
            expected = sorted(track_bytes("nginx", i, 300_000) for i in (1, 2, 3))
            assert sorted(zip_tracks(body).values()) == expected
            ws_types, sse_types = await asyncio.wait_for(asyncio.gather(ws_task, sse_task), 60)
            for types in (ws_types, sse_types):
                assert types[0] == "job.snapshot" and types[-1] == "job.completed"
                assert "track.progress" in types

            # /zip?url= analyses and streams in one request.
            async with script.get(f"{base}/zip", params={"url": album_url(upstream, "onego", n=2)}) as direct:
                assert direct.status == 200, await direct.text()
                data = await direct.read()
                assert int(direct.headers["Content-Length"]) == len(data)
            assert sorted(zip_tracks(data).values()) == sorted(track_bytes("onego", i, 40000) for i in (1, 2))

            # A cross-site page still gets nothing through the proxy.
            refused = await script.post(
                f"{base}/api/download",
                json={"url": album_url(upstream, "x")},
                headers={"Origin": "https://evil.example"},
            )
            assert refused.status == 403
