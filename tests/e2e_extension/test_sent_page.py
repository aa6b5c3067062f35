""" "Send this page as I see it", in Debian's Chromium with the unpacked extension, against a real
``audiofetch serve`` (only 127.0.0.1/32 allowed) and a members' site on 127.0.0.1.

Proves: a playlist a page builds in script after login (links, a shadow-root player and a preview
only the browser fetched) arrives whole in the ZIP; tracks behind the session cookie download when the
box is ticked and fail with a clear message when it is not; a sent page listing a private address gets
that track refused while a listener there sees no connection; afterwards the cookie's value is in no
file of the server's data folder (the SQLite job store included), not in its DEBUG log and not in the
event stream. Like the other extension tests, the popup's buttons are stood in for by calling the
handler they message (``sendPageAsSeen(tab, {cookies})``) in the service worker.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from audiofetch.net import BROWSER_USER_AGENT
from tests.conftest import free_port
from tests.e2e.harness import ADMIN_PASSWORD, serve, zip_tracks
from tests.e2e_extension.conftest import EXT_ORIGIN
from tests.e2e_extension.harness import CHROMIUM
from tests.e2e_extension.members_site import AUDIO_BYTES, MembersSite, track_bytes
from tests.kit.site import served
from tests.kit.wait import job_at

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

SEND_AS_SEEN = "([tab, options]) => sendPageAsSeen(tab, options)"


@pytest.fixture
async def private_listener() -> AsyncIterator[tuple[str, list[str]]]:
    """A server on 127.0.0.2 (standing for a private host): its base URL and the peers that connected."""
    peers: list[str] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(str(writer.get_extra_info("peername")))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 3\r\n\r\nID3")
        await writer.drain()
        writer.close()

    port = free_port("127.0.0.2")
    server = await asyncio.start_server(on_connect, "127.0.0.2", port)
    try:
        yield f"http://127.0.0.2:{port}", peers
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def site(aiohttp_server, private_listener) -> MembersSite:
    members = MembersSite(secret=f"sess-{secrets.token_hex(16)}", private_base=private_listener[0])
    members.base = await served(aiohttp_server, members.app())
    return members


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    env = {
        "AUDIOFETCH_CORS_ORIGINS": EXT_ORIGIN,
        "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.1/32",  # 127.0.0.2 stands for a private address
        "AUDIOFETCH_LOG_LEVEL": "DEBUG",
    }
    async with serve(tmp_path / "data", env) as base:
        yield base


async def admin_token(server: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server}/api/auth/login", json={"password": ADMIN_PASSWORD}) as response,
    ):
        assert response.status == 200
        token: str = (await response.json())["token"]
        return token


async def all_jobs(server: str, token: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.get(f"{server}/api/jobs", headers=headers) as r:
        jobs: list[dict[str, Any]] = (await r.json())["jobs"]
        return jobs


async def open_logged_in(context: Any, worker: Any, site: MembersSite, path: str) -> dict[str, Any]:
    """Log in on the site in a new tab, land on ``path``, wait for its script; the extension's ``tab``."""
    page = await context.new_page()
    await page.goto(f"{site.base}/login?next={path}")
    await page.wait_for_selector("body[data-loaded=true]")
    url = page.url
    tab: dict[str, Any] = await worker.evaluate(
        "async (url) => (await chrome.tabs.query({})).find((t) => t.url === url)", url
    )
    assert tab is not None
    return tab


async def send_as_seen(context: Any, worker: Any, server: str, tab: dict[str, Any], cookies: bool) -> Any:
    await worker.evaluate("(server) => chrome.storage.local.set({server, mode: 'browser'})", server)
    result: dict[str, Any] = await worker.evaluate(SEND_AS_SEEN, [tab, {"cookies": cookies}])
    assert result["ok"] is True, result
    assert result["opened"] == f"{server}/jobs/{result['jobId']}"
    opened = await worker.evaluate(
        "async (url) => (await chrome.tabs.query({})).find((t) => t.pendingUrl === url || t.url === url)",
        result["opened"],
    )
    assert opened is not None and opened["openerTabId"] == tab["id"]
    # The job is this browser's own: its AudioFetch pages list it (the pairing carried their cookie).
    page = None
    for _ in range(200):
        page = next((p for p in context.pages if p.url == result["opened"]), None)
        if page is not None:
            break
        await asyncio.sleep(0.05)
    assert page is not None, [p.url for p in context.pages]
    await page.wait_for_load_state()
    mine = await page.evaluate("fetch('/api/jobs').then((r) => r.json())")
    assert result["jobId"] in [j["id"] for j in mine["jobs"]]
    return result


async def fetch_zip(server: str, job_id: str) -> dict[str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(f"{server}/api/stream/{job_id}") as response:
        assert response.status == 200, await response.text()
        return zip_tracks(await response.read())


def audio_in_order(entries: dict[str, bytes]) -> list[bytes]:
    """The audio of the ZIP's MP3s in entry-name order (numbered names follow the page), without the
    ID3 tag AudioFetch writes in front: the last ``AUDIO_BYTES`` of each, as the site served them."""
    assert all(data.startswith(b"ID3") for data in entries.values())
    return [entries[name][-AUDIO_BYTES:] for name in sorted(entries)]


def audio(tracks: list[bytes]) -> list[bytes]:
    return [data[-AUDIO_BYTES:] for data in tracks]


def from_audiofetch(site: MembersSite, prefix: str) -> list[tuple[str, str]]:
    """(path, Cookie header) of the requests AudioFetch itself made to the site under ``prefix``."""
    return [(p, c) for p, c, agent in site.requests if agent == BROWSER_USER_AGENT and p.startswith(prefix)]


async def test_a_playlist_built_after_login_arrives_whole(
    site: MembersSite, server: str, browser: Any
) -> None:
    context, worker = browser
    admin = await admin_token(server)
    tab = await open_logged_in(context, worker, site, "/album")
    assert await all_jobs(server, admin) == []  # nothing is sent before the click

    result = await send_as_seen(context, worker, server, tab, cookies=False)

    entries = await fetch_zip(server, result["jobId"])
    got, expected = audio_in_order(entries), audio(site.expected("album"))
    # The page's own three (their order among themselves is the merge step's), then what only the
    # browser requested.
    assert sorted(got[:3]) == sorted(expected[:3]) and got[3] == expected[3]
    job = await job_at(server, result["jobId"])
    assert (job["url"], job["mode"], job["status"]) == (f"{site.base}/album", "browser", "completed")
    assert job["title"] == "Album for members"
    titles = [t["title"] for t in job["tracks"]]
    assert sorted(titles[:3]) == ["Featured", "Middle", "Opening"] and titles[3] == "album-preview"
    assert result["cookies"] == 0
    # AudioFetch never fetched the page (it would have found nothing there) and sent no cookie.
    assert from_audiofetch(site, "/album") == [] and from_audiofetch(site, "/api/") == []
    assert all(cookie == "" for _, cookie in from_audiofetch(site, "/"))


async def test_tracks_behind_the_session_cookie_need_the_box_ticked(
    site: MembersSite, server: str, browser: Any, tmp_path: Path
) -> None:
    context, worker = browser
    admin = await admin_token(server)
    events = bytearray()

    async def follow_events() -> None:
        headers = {"Authorization": f"Bearer {admin}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server}/api/events", headers=headers) as r,
        ):
            assert r.status == 200
            async for chunk in r.content.iter_any():
                events.extend(chunk)

    follower = asyncio.create_task(follow_events())
    try:
        tab = await open_logged_in(context, worker, site, "/members")

        refused = await send_as_seen(context, worker, server, tab, cookies=False)
        failed = await job_at(server, refused["jobId"])
        assert failed["status"] == "failed"
        assert failed["error"] == "none of the tracks could be reached"
        assert [t["status"] for t in failed["tracks"]] == ["failed"] * 3
        assert all("403 Forbidden" in t["error"] for t in failed["tracks"]), failed["tracks"]

        ticked = await send_as_seen(context, worker, server, tab, cookies=True)
        assert ticked["cookies"] >= 1
        job_page = next(p for p in context.pages if p.url == ticked["opened"])
        await job_page.reload()
        note = await job_page.text_content("#sent-cookies")
        assert note is not None and "cookies your browser sent for 127.0.0.1" in note
        assert "forgets them when the job ends" in note and site.secret not in await job_page.content()
        entries = await fetch_zip(server, ticked["jobId"])
        assert sorted(audio_in_order(entries)) == sorted(audio(site.expected("members")))
        done = await job_at(server, ticked["jobId"])
        assert done["status"] == "completed"
        await job_page.reload()
        assert await job_page.locator("#sent-cookies").count() == 0  # ended with the job
        for _ in range(200):  # the completion event has gone out
            if f'"job_id": "{ticked["jobId"]}"'.encode() in events and b"job.completed" in events:
                break
            await asyncio.sleep(0.05)
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)

    secret = site.secret.encode()
    # The cookie did its work: AudioFetch's requests for the tracks carried it, and only those.
    used = from_audiofetch(site, "/private/")
    assert used and any(site.secret in cookie for _, cookie in used)
    assert all(
        cookie == "" for path, cookie in from_audiofetch(site, "/") if not path.startswith("/private/")
    )
    # ...and it is nowhere afterwards: job store (and every other file the server keeps), log, events.
    assert b"job.completed" in events and ticked["jobId"].encode() in events
    assert secret not in events
    files = [path for path in (tmp_path / "data").rglob("*") if path.is_file()]
    assert any(path.suffix in (".db", ".sqlite", ".sqlite3") or "jobs" in path.name for path in files), files
    for path in files:
        assert secret not in path.read_bytes(), path
    consoles = list(tmp_path.glob("audiofetch-*.log"))
    assert consoles and all(secret not in log.read_bytes() for log in consoles)
    debug = (tmp_path / "data" / "audiofetch.log").read_bytes()  # the DEBUG log (checked above too)
    assert f"DEBUG   [{ticked['jobId']}]".encode() in debug and b"cookies sent, for 127.0.0.1" in debug


async def test_a_sent_page_cannot_point_audiofetch_at_a_private_address(
    site: MembersSite, server: str, browser: Any, private_listener: tuple[str, list[str]]
) -> None:
    context, worker = browser
    private_base, peers = private_listener
    page = await context.new_page()
    await page.goto(f"{site.base}/mixed")
    await page.wait_for_selector("body[data-loaded=true]")
    tab = await worker.evaluate(
        "async (url) => (await chrome.tabs.query({})).find((t) => t.url === url)", page.url
    )

    result = await send_as_seen(context, worker, server, tab, cookies=True)

    entries = await fetch_zip(server, result["jobId"])
    assert audio_in_order(entries) == audio([track_bytes("mixed-1")])
    job = await job_at(server, result["jobId"])
    tracks = {t["url"]: t for t in job["tracks"]}
    assert tracks[f"{site.base}/tracks/mixed-1.mp3"]["status"] == "done"
    refused = tracks[f"{private_base}/secret.mp3"]
    assert refused["status"] == "failed"
    assert "refused" in refused["error"] and "127.0.0.2" in refused["error"], refused
    assert peers == []


async def test_the_popup_explains_the_cookie_box_and_messages_the_handler(browser: Any, server: str) -> None:
    context, worker = browser
    admin = await admin_token(server)
    await worker.evaluate("(server) => chrome.storage.local.set({server, mode: 'browser'})", server)
    popup = await context.new_page()
    await popup.goto(f"{EXT_ORIGIN}/popup.html")
    await popup.wait_for_selector("body[data-ready=true]")
    assert await popup.is_checked("#cookies") is False
    hint = await popup.text_content("#cookies-hint")
    assert hint is not None and hint.count(".") == 1  # one sentence
    assert "only" in hint and "memory" in hint and "forgets them when the job ends" in hint

    # Opened as a tab, the popup's "current tab" is itself: the click reaches the handler, which
    # refuses a page that is not on the web, and nothing reaches the server.
    await popup.click("#send-page")
    await popup.wait_for_selector("#status.error")
    assert await popup.text_content("#status") == "AudioFetch takes http:// and https:// pages only"
    assert await all_jobs(server, admin) == []
