"""Weaknesses 4 and 5: DNS rebinding (the Host header was never checked) and ``GET /zip`` as a subresource.

The rebinding attack is played by Chromium itself: ``rebind.test`` is mapped to the server's address,
as an attacker's name would be after re-resolving, and the page it loads must not be served. The
subresource attack is a page on another site (``localhost`` is another site than ``127.0.0.1``) with
``<img src=…/zip?url=…>``: it must not start a job, while following a link to the same address must.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from tests.hardening2.kit import Browser, Server, browsers, serve, site
from tests.kit.browser import CHROMIUM, chromium

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


async def _status(
    base: str, path: str, *, method: str = "GET", address: str = "127.0.0.1", **headers: str
) -> int:
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, base + path, headers=headers, allow_redirects=False) as response,
    ):
        await response.read()
        return response.status


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    head = await reader.readline()
    writer.close()
    return head


async def _jobs(server: Server) -> list[dict[str, object]]:
    admin = Browser(server.base)
    try:
        token = await asyncio.to_thread(server.admin)
        status, body = await admin.json("GET", "/api/jobs", headers={"Authorization": f"Bearer {token}"})
    finally:
        await admin.close()
    assert status == 200
    jobs: list[dict[str, object]] = body["jobs"]
    return jobs


async def test_foreign_host_names_are_refused_before_any_handler(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server:
        port = server.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert await _status(server.base, "/", Host=host) == 200, host
        for host in (
            "rebind.test",
            f"attacker.example:{port}",
            "127.0.0.1.nip.io",
            "localhost.attacker.example",
        ):
            assert await _status(server.base, "/api/jobs", Host=host) == 421, host
            assert await _status(server.base, "/healthz", Host=host) == 421, host
        form = {"url": album.url("/tiny")}
        refused = await _status(
            server.base, "/api/download", method="POST", Host="rebind.test", Origin="http://rebind.test"
        )
        assert refused == 421
        async with browsers(server.base, "127.0.0.1") as (visitor,):
            status, _ = await visitor.json(
                "POST", "/api/download", json=form, headers={"Host": "rebind.test"}
            )
        assert status == 421
        assert await _jobs(server) == []
        assert (await _raw(port, b"GET / HTTP/1.0\r\n\r\n")).split()[1] == b"400"
        assert (await _raw(port, b"GET / HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n")).startswith(
            b"HTTP/1.1 400"
        )


async def test_allowed_hosts_lists_the_names_and_a_trusted_proxy_under_a_base_path(tmp_path: Path) -> None:
    env = {
        "AUDIOFETCH_ALLOWED_HOSTS": "audio.example, *.home.lan",
        "AUDIOFETCH_TRUSTED_PROXIES": "127.0.0.1/32",
        "AUDIOFETCH_BASE_PATH": "/af",
    }
    async with serve(tmp_path, **env) as server:
        base = server.base
        assert await _status(base, "/af/", Host="audio.example") == 200
        assert await _status(base, "/af/", Host="nas.home.lan:8443") == 200
        assert await _status(base, "/af/", Host="home.lan") == 421
        assert await _status(base, "/af/", Host="127.0.0.1", **{"X-Forwarded-Host": "audio.example"}) == 200
        assert (
            await _status(base, "/af/", Host="audio.example", **{"X-Forwarded-Host": "evil.example"}) == 421
        )
        # from an untrusted peer the forwarded header means nothing: its own Host is judged
        untrusted = {"address": "127.0.0.2", "Host": "evil.example", "X-Forwarded-Host": "audio.example"}
        assert await _status(base, "/af/", **untrusted) == 421
        assert await _status(base, "/healthz", Host=f"127.0.0.1:{server.port}") == 200


async def test_without_allowed_hosts_a_trusted_proxy_decides_the_names(tmp_path: Path) -> None:
    async with serve(tmp_path, AUDIOFETCH_TRUSTED_PROXIES="127.0.0.1/32") as server:
        forwarded = {"Host": "127.0.0.1", "X-Forwarded-Host": "music.example", "X-Forwarded-Proto": "https"}
        assert await _status(server.base, "/", **forwarded) == 200
        assert await _status(server.base, "/", address="127.0.0.2", Host="music.example") == 421


@needs_chromium
async def test_a_rebound_name_in_a_real_browser_gets_421(tmp_path: Path) -> None:
    rules = "--host-resolver-rules=MAP rebind.test 127.0.0.1"
    async with serve(tmp_path) as server, chromium(rules) as browser:
        page = await browser.new_page()
        rebound = await page.goto(f"http://rebind.test:{server.port}/api/jobs")
        assert rebound is not None and rebound.status == 421
        assert "AUDIOFETCH_ALLOWED_HOSTS" in await page.content()
        own = await page.goto(f"{server.base}/api/jobs")
        assert own is not None and own.status == 200


async def test_zip_refuses_cross_site_subresources_and_serves_navigations_and_scripts(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server:
        target = f"/zip?url={quote(album.url('/tiny'), safe='')}"
        for mode in ("no-cors", "cors", "same-origin"):
            headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": "image"}
            assert await _status(server.base, target, **headers) == 403, mode
        assert (
            await _status(server.base, target, **{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"})
            == 403
        )
        assert await _jobs(server) == []
        navigation = {
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
        }
        assert await _status(server.base, target, **navigation) == 200
        assert await _status(server.base, target) == 200  # curl: no browser headers at all


@needs_chromium
async def test_an_img_on_another_site_starts_nothing_and_a_link_still_downloads(tmp_path: Path) -> None:
    async with site() as album, serve(tmp_path) as server, chromium() as browser:
        zip_url = f"{server.base}/zip?url={quote(album.url('/tiny'), safe='')}"
        context = await browser.new_context(accept_downloads=True)
        page = await context.new_page()
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url))
        # goto waits for the load event, which waits for the image to load or fail
        await page.goto(album.url(f"/attack.html?target={quote(zip_url, safe='')}", host="localhost"))
        assert zip_url in sent
        assert "refused a cross-site GET subresource request for /zip" in server.log.read_text()
        assert await _jobs(server) == []

        async with page.expect_download() as started:
            await page.click("#go")
        download = await started.value
        saved = tmp_path / "tiny.zip"
        await download.save_as(saved)
        assert saved.read_bytes()[:2] == b"PK"
        assert len(await _jobs(server)) == 1
