"""The ``tags`` switch through the HTTP API and the store: body, form words, persistence, exact streams."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from audiofetch.config import Settings
from audiofetch.errors import BadRequestError
from audiofetch.jobs import MIGRATIONS, JobSpec, JobStore
from audiofetch.tags import existing_id3v2_length
from audiofetch.web._contract import JOB_REQUEST
from tests.kit.wait import job_over_http
from tests.tags.media_site import MediaSite, aplayer_page, read_tags
from tests.web.apikit import SAME_ORIGIN, bearer, login

SONGS = [
    {"name": "Opening", "artist": "Quay Trio", "url": "/media/a.mp3"},
    {"name": "Closing", "artist": "Quay Trio", "url": "/media/b.flac"},
]
NAMES = ["01 - Opening.mp3", "02 - Closing.flac"]


@pytest.fixture
async def origin(aiohttp_server: Any, encoded: dict[str, Path]) -> tuple[MediaSite, TestServer]:
    media = MediaSite()
    media.files["/media/a.mp3"] = encoded["mp3"].read_bytes()
    media.files["/media/b.flac"] = encoded["flac"].read_bytes()
    media.pages["/set"] = aplayer_page("Quay Sessions", SONGS, og_image=None)
    return media, await aiohttp_server(media.app())


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), (True, True), (False, False), ("off", False), ("OFF", False), ("false", False),
     ("0", False), ("no", False), ("on", True), ("true", True), ("1", True)],
)  # fmt: skip
def test_the_job_request_reads_the_tags_switch(value: object, expected: bool) -> None:
    body = {"url": "http://127.0.0.1/a"} if value is None else {"url": "http://127.0.0.1/a", "tags": value}
    assert JOB_REQUEST.read(body)["tags"] is expected


@pytest.mark.parametrize("value", ["maybe", 1, [], {"x": 1}])
def test_the_job_request_refuses_a_tags_value_that_is_not_a_switch(value: object) -> None:
    with pytest.raises(BadRequestError, match="tags must be true or false"):
        JOB_REQUEST.read({"url": "http://127.0.0.1/a", "tags": value})


async def test_a_server_job_with_tags_false_in_the_body_keeps_the_upstream_bytes(
    client: TestClient, origin: tuple[MediaSite, TestServer], settings: Settings
) -> None:
    media, server = origin
    token = await login(client)
    body = {"url": str(server.make_url("/set")), "mode": "server", "name": "Raw", "tags": False}
    response = await client.post("/api/download", json=body, headers=bearer(token))
    assert response.status == 202, await response.text()
    created = await response.json()
    assert created["tags"] is False
    job = await job_over_http(client, created["id"])
    assert job["status"] == "completed", job
    folder = settings.data_dir / "downloads" / "Raw"
    assert (folder / NAMES[0]).read_bytes() == media.files["/media/a.mp3"]
    assert (folder / NAMES[1]).read_bytes() == media.files["/media/b.flac"]
    playlist = folder / "00 - Raw.m3u8"  # the Name names the playlist too, not only the folder
    assert playlist.is_file()
    assert playlist.stat().st_mode & 0o777 == (folder / NAMES[0]).stat().st_mode & 0o777


async def test_a_browser_job_streams_tagged_mp3s_with_an_exact_content_length(
    client: TestClient, origin: tuple[MediaSite, TestServer], tmp_path: Path
) -> None:
    media, server = origin
    response = await client.post(
        "/api/download", json={"url": str(server.make_url("/set"))}, headers=SAME_ORIGIN
    )
    assert response.status == 202, await response.text()
    job = await response.json()
    assert job["tags"] is True
    stream = await client.get(f"/api/stream/{job['id']}")
    assert stream.status == 200, await stream.text()
    body = await stream.read()
    assert int(stream.headers["Content-Length"]) == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [*NAMES, "00 - Quay Sessions.m3u8"]
        archive.extractall(tmp_path)
    tags = read_tags(tmp_path / NAMES[0])
    assert (tags.title, tags.artist, tags.album, tags.track) == (
        "Opening",
        "Quay Trio",
        "Quay Sessions",
        "1/2",
    )
    mp3 = (tmp_path / NAMES[0]).read_bytes()
    tag_length = existing_id3v2_length(mp3)
    assert tag_length is not None and mp3[tag_length:] == media.files["/media/a.mp3"]


async def test_zip_route_with_tags_off_sends_the_upstream_bytes(
    client: TestClient, origin: tuple[MediaSite, TestServer]
) -> None:
    media, server = origin
    response = await client.get("/zip", params={"url": str(server.make_url("/set")), "tags": "off"})
    assert response.status == 200, await response.text()
    body = await response.read()
    assert int(response.headers["Content-Length"]) == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.read(NAMES[0]) == media.files["/media/a.mp3"]
        assert archive.read(NAMES[1]) == media.files["/media/b.flac"]


async def test_migration_2_gives_existing_jobs_tags_on_and_stores_the_switch(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    await (await JobStore.open(path, migrations=MIGRATIONS[:1])).close()
    with sqlite3.connect(path) as conn:  # a job written by the previous version, schema 1
        conn.execute(
            "INSERT INTO jobs (id, url, url_key, mode, status, created_at, updated_at, run_id) "
            "VALUES ('old', 'http://127.0.0.1/old', 'http://127.0.0.1/old', 'server', 'completed', 1, 1, 'r')"
        )

    store = await JobStore.open(path)
    try:
        assert (await store.get("old")).spec.tags is True
        off = await store.create(JobSpec("http://127.0.0.1/new", tags=False))
        assert (await store.get(off.id)).spec.tags is False
        assert (await store.find_active("http://127.0.0.1/new", "browser", client_id="")) == off
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))  # 2 and every later migration ran once


@pytest.mark.parametrize(
    ("fields", "expected"), [([("tags", "off"), ("tags", "on")], True), ([("tags", "off")], False)]
)
async def test_the_form_pairs_a_hidden_off_with_the_checkbox(
    client: TestClient, origin: tuple[MediaSite, TestServer], fields: list[tuple[str, str]], expected: bool
) -> None:
    """The page's form sends a hidden ``tags=off`` before the checkbox: the last value wins."""
    _, server = origin
    form = [("url", str(server.make_url("/set"))), *fields]
    response = await client.post("/api/download", data=form, headers=SAME_ORIGIN)
    assert response.status == 202, await response.text()
    assert (await response.json())["tags"] is expected
