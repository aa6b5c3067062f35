"""The HTML pages and htmx fragments through a real server, without a browser.

Proves: pages render with a label on every control and no inline script or style (the CSP has no
'unsafe-inline'); the no-JavaScript form path creates a job and redirects to its self-refreshing page;
htmx submissions answer a card (or the existing job for a duplicate) and put errors next to the field
that caused them; a POST without the session's CSRF token is refused; the preview lists tracks whose
unticking reaches the job; login, logout, job actions and the downloads delete work as forms.
"""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from tests.web.apikit import ADMIN_PASSWORD, REAL_RUNNER, SAME_ORIGIN
from tests.web.upstream import Upstream

HTMX = {**SAME_ORIGIN, "HX-Request": "true"}


class PageAudit(HTMLParser):
    """Collects what the CSP and the accessibility rules care about."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.script_srcs: list[str] = []
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.event_handlers: list[str] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.inputs_by_name: dict[str, dict[str, str | None]] = {}
        self._in_script = False
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found:
            self.style_attributes.append(tag)
        self.event_handlers += [name for name in found if name.startswith("on")]
        if tag == "script":
            self._in_script = True
            if found.get("src"):
                self.script_srcs.append(str(found["src"]))
        elif tag == "style":
            self.style_elements += 1
        elif tag == "label":
            self._label_depth += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        elif (
            tag in ("input", "select", "textarea") and found.get("type") != "hidden" and "hidden" not in found
        ):
            self.controls.append({**found, "_wrapped": "yes" if self._label_depth else None})
        if tag == "input" and found.get("name"):
            self.inputs_by_name[str(found["name"])] = found

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        elif tag == "label":
            self._label_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def unlabelled(self) -> list[dict[str, str | None]]:
        return [
            control
            for control in self.controls
            if not control["_wrapped"]
            and control.get("id") not in self.label_for
            and not control.get("aria-label")
        ]


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    return parser


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
async def origin(aiohttp_server: Any) -> TestServer:
    site = Upstream()
    site.album("/album", [("one.mp3", 20_000), ("two.mp3", 30_000), ("three.mp3", 40_000)])
    site.pages["/empty"] = "<!DOCTYPE html><html><body><p>nothing to hear</p></body></html>"
    server: TestServer = await aiohttp_server(site.app())
    return server


async def home(client: TestClient, path: str = "/") -> str:
    """A page fetched the way a browser does (so it gets its session cookie); the CSRF token in it."""
    response = await client.get(path, headers=SAME_ORIGIN)
    assert response.status == 200, await response.text()
    return await response.text()


async def login(client: TestClient) -> None:
    token = csrf_of(await home(client, "/login"))
    response = await client.post(
        "/login",
        data={"password": ADMIN_PASSWORD, "csrf_token": token},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


async def test_pages_have_labels_and_no_inline_script_or_style(client: TestClient) -> None:
    response = await client.get("/", headers=SAME_ORIGIN)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for path in ("/", "/login", "/?url=https%3A%2F%2Fexample.org%2Fa"):
        page = audit(await home(client, path))
        assert page.inline_scripts == 0 and page.style_elements == 0, path
        assert page.style_attributes == [] and page.event_handlers == [], path
        assert page.unlabelled() == [], path
        assert any("htmx-4.0.1/htmx.min.js" in src for src in page.script_srcs)
    await login(client)
    admin_page = audit(await home(client))
    assert admin_page.unlabelled() == [] and admin_page.inline_scripts == 0
    assert admin_page.inputs_by_name["mode"]["type"] == "radio"


async def test_home_page_offers_the_fields_plugins_and_bookmarklet(client: TestClient) -> None:
    html = await home(client, "/?url=https%3A%2F%2Fexample.org%2Falbum")
    assert '<label for="url">Page URL</label>' in html
    assert 'value="https://example.org/album"' in html
    assert '<option value="auto">' in html and '<option value="html5_audio">' in html
    assert 'name="workers"' in html and 'name="mode" value="browser"' in html
    assert 'value="server"' not in html  # server mode only for the admin
    bookmarklet = re.search(r'class="bookmarklet" href="([^"]+)"', html)
    assert bookmarklet and bookmarklet.group(1).startswith("javascript:")
    assert f"{client.server.scheme}://{client.server.host}:{client.server.port}/?url=" in bookmarklet.group(1)
    static = await client.get(re.search(r'src="(/static/js/live.js[^"]*)"', html).group(1))  # type: ignore[union-attr]
    assert static.status == 200 and "EventSource" in await static.text()


async def test_a_post_without_the_csrf_token_is_refused(client: TestClient, origin: TestServer) -> None:
    await home(client)
    response = await client.post("/jobs", data={"url": str(origin.make_url("/album"))}, headers=SAME_ORIGIN)
    assert response.status == 403
    assert "reload the page" in await response.text()
    forged = await client.post(
        "/jobs", data={"url": str(origin.make_url("/album")), "csrf_token": "x" * 86}, headers=HTMX
    )
    assert forged.status == 403
    assert (await (await client.get("/api/jobs", headers=SAME_ORIGIN)).json())["jobs"] == []


async def test_a_cross_site_form_post_is_refused_before_the_page_sees_it(client: TestClient) -> None:
    token = csrf_of(await home(client))
    response = await client.post(
        "/jobs",
        data={"url": "https://example.org/", "csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status == 403


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_the_no_javascript_form_creates_a_job_and_redirects_to_its_page(
    client: TestClient, origin: TestServer
) -> None:
    token = csrf_of(await home(client))
    url = str(origin.make_url("/album"))
    response = await client.post(
        "/jobs",
        data={"url": url, "mode": "browser", "plugin": "auto", "workers": "3", "csrf_token": token},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/jobs/[A-Za-z0-9_-]+", location)
    job_id = location.rsplit("/", 1)[1]
    status = await (await client.get(f"/api/status/{job_id}")).json()
    assert status["url"] == url and status["workers"] == 3 and status["mode"] == "browser"
    page = await home(client, location)
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert f'id="job-{job_id}"' in page and f'data-live-job="{job_id}"' in page
    # The same page again gives the existing job, said so on its page.
    again = await client.post(
        "/jobs", data={"url": url, "csrf_token": token}, headers=SAME_ORIGIN, allow_redirects=False
    )
    assert again.headers["Location"] == f"{location}?duplicate=1"
    assert "already being fetched" in await home(client, again.headers["Location"])


async def test_the_tags_checkbox_switches_tagging_for_the_job(client: TestClient, origin: TestServer) -> None:
    page = await home(client)
    assert '<input type="hidden" name="tags" value="off">' in page
    assert 'id="tags" name="tags" type="checkbox" value="on" checked' in page
    token = csrf_of(page)
    for n, (sent, expected) in enumerate(((["off"], False), (["off", "on"], True))):
        form = [("url", str(origin.make_url(f"/album?n={n}"))), ("csrf_token", token)]
        form += [("tags", value) for value in sent]
        response = await client.post("/jobs", data=form, headers=SAME_ORIGIN, allow_redirects=False)
        assert response.status == 303
        job_id = response.headers["Location"].rsplit("/", 1)[1]
        status = await (await client.get(f"/api/status/{job_id}")).json()
        assert status["tags"] is expected


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_htmx_submit_answers_a_card_and_a_duplicate_answers_the_same_job(
    client: TestClient, origin: TestServer
) -> None:
    token = csrf_of(await home(client))
    form = {"url": str(origin.make_url("/album")), "csrf_token": token}
    first = await client.post("/jobs", data=form, headers=HTMX)
    assert first.status == 202
    card = await first.text()
    job_id = re.search(r'data-job="([^"]+)"', card).group(1)  # type: ignore[union-attr]
    assert f'data-autostart="/api/stream/{job_id}?run=' in card
    assert 'id="error-url" hx-swap-oob="true"></p>' in card  # old errors are cleared
    assert not audit(card).inline_scripts
    second = await client.post("/jobs", data=form, headers=HTMX)
    duplicate = await second.text()
    assert f'data-job="{job_id}"' in duplicate and "already being fetched" in duplicate
    assert "data-autostart" not in duplicate
    fragment = await client.get(f"/jobs/{job_id}/card")
    assert fragment.status == 200 and "<html" not in await fragment.text()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url": "ftp://example.org/a"}, "url", "http://"),
        ({"url": "http://10.1.2.3/album"}, "url", "10.1.2.3"),
        ({"url": ""}, "url", "url is required"),
        ({"url": "https://example.org/", "workers": "99"}, "workers", "from 1 to 20"),
        ({"url": "https://example.org/", "mode": "server"}, "mode", "log in as admin"),
        (
            {"url": "https://example.org/", "previewed": "https://example.org/"},
            "selected",
            "tick at least one",
        ),
    ],
)
async def test_errors_are_shown_next_to_the_field_that_caused_them(
    client: TestClient, fields: dict[str, str], field: str, words: str
) -> None:
    token = csrf_of(await home(client))
    response = await client.post("/jobs", data={**fields, "csrf_token": token}, headers=HTMX)
    assert 400 <= response.status < 500
    body = await response.text()
    match = re.search(rf'<p class="field-error" id="error-{field}" hx-swap-oob="true">([^<]*)</p>', body)
    assert match and words in match.group(1), body
    # Without JavaScript the home page comes back with the message under the same field.
    page = await client.post("/jobs", data={**fields, "csrf_token": token}, headers=SAME_ORIGIN)
    html = await page.text()
    assert page.status == response.status
    assert re.search(rf'<p class="field-error" id="error-{field}">[^<]*{re.escape(words)}', html)


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_preview_lists_tracks_and_unticked_ones_are_left_out(
    client: TestClient, origin: TestServer
) -> None:
    token = csrf_of(await home(client))
    url = str(origin.make_url("/album"))
    fragment = await client.get("/preview", params={"url": url}, headers=HTMX)
    assert fragment.status == 200
    html = await fragment.text()
    assert re.findall(r'name="selected" value="(\d+)"', html) == ["1", "2", "3"]
    assert "<td>MP3</td>" in html and f'name="previewed" value="{url}"' in html
    page = await client.get("/preview", params={"url": url}, headers=SAME_ORIGIN)  # without JavaScript
    assert "<html" in await page.text() and 'id="pick-3"' in await page.text()
    empty = await client.get("/preview", params={"url": str(origin.make_url("/empty"))}, headers=HTMX)
    assert empty.status == 422
    assert re.search(
        r'id="error-url" hx-swap-oob="true">No audio found on this page.</p>', await empty.text()
    )
    response = await client.post(
        "/jobs",
        data=[("url", url), ("previewed", url), ("selected", "1"), ("selected", "3"), ("csrf_token", token)],
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert (await (await client.get(f"/api/status/{job_id}")).json())["selected"] == [1, 3]
    # A tick list from the preview of another page is not applied to this one.
    other = await client.post(
        "/jobs",
        data=[("url", f"{url}?v=2"), ("previewed", url), ("selected", "2"), ("csrf_token", token)],
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    other_id = other.headers["Location"].rsplit("/", 1)[1]
    assert (await (await client.get(f"/api/status/{other_id}")).json())["selected"] is None


async def test_login_page_logs_in_and_out_as_a_plain_form(client: TestClient) -> None:
    page = await home(client, "/login")
    assert '<label for="password">Password</label>' in page
    wrong = await client.post(
        "/login", data={"password": "nope", "csrf_token": csrf_of(page)}, headers=SAME_ORIGIN
    )
    assert wrong.status == 401
    assert re.search(r'id="error-password">wrong password<', await wrong.text())
    htmx_wrong = await client.post(
        "/login", data={"password": "nope", "csrf_token": csrf_of(page)}, headers=HTMX
    )
    assert 'id="error-password" hx-swap-oob="true">wrong password<' in await htmx_wrong.text()
    await login(client)
    admin_home = await home(client)
    assert "Server downloads" in admin_home and 'value="server"' in admin_home
    logout = await client.post(
        "/logout", data={"csrf_token": csrf_of(admin_home)}, headers=SAME_ORIGIN, allow_redirects=False
    )
    assert logout.status == 303
    assert "Server downloads" not in await home(client)


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_job_actions_cancel_and_delete_for_the_owner_only(
    client: TestClient, aiohttp_client: Any, origin: TestServer
) -> None:
    token = csrf_of(await home(client))
    created = await client.post(
        "/jobs", data={"url": str(origin.make_url("/album")), "csrf_token": token}, headers=HTMX
    )
    job_id = re.search(r'data-job="([^"]+)"', await created.text()).group(1)  # type: ignore[union-attr]
    # Another browser on another address (a browser's first session id comes from its address).
    stranger = await aiohttp_client(
        client.server, connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    )
    stranger_token = csrf_of(await home(stranger))
    refused = await stranger.post(f"/jobs/{job_id}/cancel", data={"csrf_token": stranger_token}, headers=HTMX)
    assert refused.status == 403 and "only the browser that started" in await refused.text()
    cancelled = await client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token}, headers=HTMX)
    assert cancelled.status == 200 and 'data-status="cancelled"' in await cancelled.text()
    deleted = await client.post(f"/jobs/{job_id}/delete", data={"csrf_token": token}, headers=HTMX)
    assert deleted.headers["HX-Reswap"] == "delete"
    assert (await client.get(f"/jobs/{job_id}/card")).status == 404
    assert (await client.get(f"/jobs/{job_id}")).status == 404


async def test_deleting_a_server_download_asks_first_without_javascript(
    client: TestClient, settings: Settings
) -> None:
    folder = Path(settings.data_dir) / "downloads" / "Harbour"
    folder.mkdir(parents=True)
    (folder / "01 - one.mp3").write_bytes(b"ID3" + b"\0" * 100)
    refused = await client.post(
        "/downloads/Harbour/delete", data={"csrf_token": csrf_of(await home(client))}, headers=SAME_ORIGIN
    )
    assert refused.status == 401 and folder.exists()
    await login(client)
    admin_home = await home(client)
    assert 'data-folder="Harbour"' in admin_home and 'href="/api/downloads/Harbour/zip"' in admin_home
    token = csrf_of(admin_home)
    ask = await client.post("/downloads/Harbour/delete", data={"csrf_token": token}, headers=SAME_ORIGIN)
    assert ask.status == 200 and "Delete “Harbour”?" in await ask.text() and folder.exists()
    done = await client.post(
        "/downloads/Harbour/delete",
        data={"csrf_token": token, "confirm": "yes"},
        headers=SAME_ORIGIN,
        allow_redirects=False,
    )
    assert done.status == 303 and not folder.exists()
    fragment = await client.get("/downloads", headers=HTMX)
    assert "Nothing saved on the server yet" in await fragment.text()


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_a_failed_track_shows_its_error_and_can_be_retried(
    client: TestClient, aiohttp_server: Any, settings: Settings
) -> None:
    site = Upstream()
    site.album("/album", [("one.mp3", 20_000)])
    site.pages["/album"] = site.pages["/album"].replace(
        "</body>", '<audio controls src="/audio/gone.mp3"></audio></body>'
    )
    origin = await aiohttp_server(site.app())
    await login(client)
    token = csrf_of(await home(client))
    form = {"url": str(origin.make_url("/album")), "mode": "server", "name": "Partial", "csrf_token": token}
    created = await client.post("/jobs", data=form, headers=HTMX)
    job_id = re.search(r'data-job="([^"]+)"', await created.text()).group(1)  # type: ignore[union-attr]
    for _ in range(400):
        card = await (await client.get(f"/jobs/{job_id}/card")).text()
        job_status = re.search(r'<article class="job-card[^>]*?data-status="([^"]+)"', card, re.S)
        if job_status and job_status.group(1) in ("completed", "failed"):  # the job's end, not a track's
            break
        await asyncio.sleep(0.05)
    failed_row = re.search(
        r'data-track="2"[^>]*data-status="failed".*?data-role="error">([^<]+)<', card, re.S
    )
    assert failed_row, card
    assert f'id="retry-{job_id}"' in card
    retried = await client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert retried.status == 200
    assert f'data-job="{job_id}"' in await retried.text()  # server mode retries in the same job


@pytest.mark.skipif(not REAL_RUNNER, reason="needs audiofetch.jobs.JobRunner")
async def test_a_folder_being_written_is_marked_and_not_zipped_or_deleted_unasked(
    client: TestClient, aiohttp_server: Any, settings: Settings
) -> None:
    site = Upstream()
    site.album("/album", [("one.mp3", 20_000), ("two.mp3", 300_000)])
    site.gates["two.mp3"] = asyncio.Event()  # the job stays in its folder until the test lets it end
    origin = await aiohttp_server(site.app())
    await login(client)
    token = csrf_of(await home(client))
    form = {"url": str(origin.make_url("/album")), "mode": "server", "name": "Busy", "csrf_token": token}
    await client.post("/jobs", data=form, headers=HTMX)
    for _ in range(400):
        fragment = await (await client.get("/downloads", headers=HTMX)).text()
        if 'data-busy="true"' in fragment:
            break
        await asyncio.sleep(0.02)
    assert 'data-folder="Busy" data-busy="true"' in fragment and "being written" in fragment
    assert "/api/downloads/Busy/zip" not in fragment
    listed = await (await client.get("/api/downloads")).json()
    assert listed["downloads"][0]["busy"] is True
    assert (await client.get("/api/downloads/Busy/zip")).status == 409
    assert (await client.delete("/api/downloads/Busy", headers=SAME_ORIGIN)).status == 409
    # An ordinary "yes" is not enough: the confirmation page says the folder is still being written.
    asked = await client.post(
        "/downloads/Busy/delete", data={"csrf_token": token, "confirm": "yes"}, headers=SAME_ORIGIN
    )
    assert asked.status == 200 and "still writing this folder" in await asked.text()
    assert 'name="confirm" value="busy"' in await asked.text()
    site.gates["two.mp3"].set()
    for _ in range(400):
        if not (await (await client.get("/api/downloads")).json())["downloads"][0]["busy"]:
            break
        await asyncio.sleep(0.02)
    zipped = await client.get("/api/downloads/Busy/zip")
    assert zipped.status == 200
    await zipped.read()


async def test_the_no_javascript_preview_is_a_post_that_keeps_the_choices(
    client: TestClient, origin: TestServer
) -> None:
    html = await home(client)
    assert 'id="preview-button" formaction="/preview" formmethod="post"' in html
    token = csrf_of(html)
    url = str(origin.make_url("/album"))
    refused = await client.post("/preview", data={"url": url}, headers=SAME_ORIGIN)
    assert refused.status == 403
    page = await client.post(
        "/preview",
        data=[("csrf_token", token), ("url", url), ("name", "Mine"), ("tags", "off"), ("tags", "on")],
        headers=SAME_ORIGIN,
    )
    text = await page.text()
    assert page.status == 200 and 'id="pick-1"' in text
    assert re.search(r'id="tags" name="tags" type="checkbox" value="on" checked', text)
    assert 'value="Mine"' in text
