"""The admin's download folders through the real server: traversal in every spelling and planted
symlinks never reach outside ``<data>/downloads`` (listing, ZIP and delete never follow a link).
"""

from __future__ import annotations

import asyncio
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from audiofetch.config import Settings
from audiofetch.errors import JobError
from audiofetch.jobs import folder_entries
from tests.web.apikit import admin_settings, bearer, build_app, login

SONG = b"ID3\x04\0\0\0\0\0\0" + b"\x22" * 5000
SECRET = b"the admin's private key"


@dataclass
class Planted:
    downloads: Path
    outside: Path
    token: str


@pytest.fixture
async def planted(aiohttp_client: Any, settings: Settings, tmp_path: Path) -> tuple[TestClient, Planted]:
    client: TestClient = await aiohttp_client(build_app(admin_settings(settings)))
    token = await login(client)
    downloads = settings.data_dir / "downloads"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "victim.mp3").write_bytes(SONG)
    harbour = downloads / "Harbour"
    harbour.mkdir(parents=True)
    (harbour / "01 - One.mp3").write_bytes(SONG)
    (harbour / "02 - Two.part").write_bytes(SONG[:100])
    os.symlink(outside / "secret.txt", harbour / "03 - Link.mp3")
    os.symlink(outside, harbour / "linked-folder")
    os.symlink(outside, downloads / "Evil")
    os.symlink(outside / "victim.mp3", downloads / "loose.mp3")
    os.symlink(settings.data_dir, downloads / "DataDir")
    return client, Planted(downloads, outside, token)


def outside_intact(planted: Planted) -> None:
    assert (planted.outside / "secret.txt").read_bytes() == SECRET
    assert (planted.outside / "victim.mp3").read_bytes() == SONG


async def test_listing_shows_real_folders_and_counts_only_real_files(
    planted: tuple[TestClient, Planted],
) -> None:
    client, where = planted
    response = await client.get("/api/downloads", headers=bearer(where.token))
    folders = (await response.json())["downloads"]
    assert [(f["name"], f["files"], f["size"]) for f in folders] == [("Harbour", 1, len(SONG))]


async def test_a_folder_zip_holds_no_linked_file(planted: tuple[TestClient, Planted]) -> None:
    client, where = planted
    response = await client.get("/api/downloads/Harbour/zip", headers=bearer(where.token))
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert archive.namelist() == ["01 - One.mp3"]
        assert archive.read("01 - One.mp3") == SONG


TRAVERSALS = [
    "..",
    ".",
    "../outside",
    "..%2Foutside",
    "..%2foutside",
    "%2e%2e%2foutside",
    "%2E%2E%2Foutside",
    "%2e%2e",
    "..%252Foutside",
    "..%5Coutside",
    "..\\outside",
    "Harbour%2F..%2F..%2F..%2Foutside",
    "Harbour%2F01%20-%20One.mp3",
    "%2Fetc",
    "%00",
    "Harbour%00",
    ".hidden",
    "Evil",
    "DataDir",
    "loose.mp3",
    "harbour%2F..",
]


async def test_traversal_and_links_are_refused_for_delete_and_zip(
    planted: tuple[TestClient, Planted], settings: Settings
) -> None:
    """One server for every spelling (logging in costs a password hash); each must be 400/404."""
    client, where = planted
    answers: dict[str, tuple[int, int]] = {}
    for name in TRAVERSALS:
        statuses = []
        for method, suffix in (("DELETE", ""), ("GET", "/zip")):
            url = URL(f"/api/downloads/{name}{suffix}", encoded=True)
            response = await client.request(method, url, headers=bearer(where.token))
            statuses.append(response.status)
            if response.content_type == "application/json":
                assert "\n" not in (await response.json())["error"]
        answers[name] = (statuses[0], statuses[1])
    # 405: the client folds "/./zip" into "/zip", a route with no GET; nothing is touched either way.
    refused = {name: codes for name, codes in answers.items() if set(codes) <= {400, 404, 405}}
    assert refused == answers
    outside_intact(where)
    assert (where.downloads / "Harbour" / "01 - One.mp3").read_bytes() == SONG
    assert (settings.data_dir / "audiofetch.sqlite3").exists()
    assert os.path.islink(where.downloads / "Evil") and os.path.islink(where.downloads / "DataDir")


async def test_deleting_a_folder_removes_links_inside_but_never_their_targets(
    planted: tuple[TestClient, Planted],
) -> None:
    client, where = planted
    response = await client.delete("/api/downloads/Harbour", headers=bearer(where.token))
    assert response.status == 200
    assert not (where.downloads / "Harbour").exists()
    outside_intact(where)
    assert sorted(p.name for p in where.outside.iterdir()) == ["secret.txt", "victim.mp3"]


async def test_visitors_get_no_folder_routes_at_all(planted: tuple[TestClient, Planted]) -> None:
    client, where = planted
    await client.post("/api/auth/logout", headers={**bearer(where.token), "Sec-Fetch-Site": "same-origin"})
    client.session.cookie_jar.clear()
    for method, path in (
        ("GET", "/api/downloads"),
        ("GET", "/api/downloads/Harbour/zip"),
        ("DELETE", "/api/downloads/Harbour"),
    ):
        response = await client.request(method, path)
        assert response.status == 401, (method, path)
    assert (where.downloads / "Harbour" / "01 - One.mp3").exists()


async def test_a_file_swapped_for_a_link_after_listing_is_not_followed(tmp_path: Path) -> None:
    """The entries are listed first and read later (while the ZIP streams): a file replaced by a symlink
    in between must not be read through the link."""
    downloads = tmp_path / "downloads"
    (downloads / "Album").mkdir(parents=True)
    song = downloads / "Album" / "01 - One.mp3"
    song.write_bytes(b"x" * len(SECRET))
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    (entry,) = await folder_entries(downloads, "Album")
    song.unlink()
    os.symlink(secret, song)
    read = b""
    with pytest.raises(JobError, match="changed on disk"):
        async for chunk in entry.data:  # type: ignore[union-attr]  # a folder entry streams from a file
            read += chunk
    assert SECRET not in read


async def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    album = downloads / "Album"
    album.mkdir(parents=True)
    (album / "01 - One.mp3").write_bytes(b"x" * len(SECRET))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "01 - One.mp3").write_bytes(SECRET)
    (entry,) = await folder_entries(downloads, "Album")
    album.rename(tmp_path / "moved")
    os.symlink(elsewhere, album)
    with pytest.raises(JobError, match="changed on disk"):
        async for chunk in entry.data:  # type: ignore[union-attr]
            assert SECRET not in chunk


async def test_an_unchanged_folder_still_reads_back_whole(tmp_path: Path) -> None:
    album = tmp_path / "downloads" / "Album"
    album.mkdir(parents=True)
    (album / "01 - One.mp3").write_bytes(SONG)
    (entry,) = await folder_entries(tmp_path / "downloads", "Album")
    assert b"".join([chunk async for chunk in entry.data]) == SONG  # type: ignore[union-attr]


async def test_hostile_job_names_and_page_titles_make_folders_inside_downloads_only(
    planted: tuple[TestClient, Planted], aiohttp_server: Any, settings: Settings, tmp_path: Path
) -> None:
    client, where = planted
    title = "../../..\\evil\u202e\r\nCON"

    async def page(request: web.Request) -> web.Response:
        if request.path.endswith(".mp3"):
            return web.Response(body=SONG, content_type="audio/mpeg")
        body = f"<html><head><title>{title}</title></head><body><audio src='/s.mp3'></audio></body></html>"
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    server = await aiohttp_server(app)
    names = ["../../../outside", "..", "CON", "a/b\\c:d", "/etc", "Harbour", "x" * 200, None]
    for n, name in enumerate(names):  # one after the other: at most 5 jobs per client may be active
        body = {"url": str(server.make_url(f"/album?n={n}")), "mode": "server", "name": name}
        response = await client.post("/api/download", json=body, headers=bearer(where.token))
        assert response.status == 202, await response.text()
        job_id = (await response.json())["id"]
        for _ in range(500):
            job = await (await client.get(f"/api/status/{job_id}", headers=bearer(where.token))).json()
            if not job["active"]:
                break
            await asyncio.sleep(0.02)
        assert job["status"] == "completed", job
    folders = [p for p in where.downloads.iterdir() if not p.is_symlink()]
    assert len(folders) == len(names) + 1  # and Harbour from the fixture, untouched
    for folder in folders:
        assert folder.parent == where.downloads and folder.is_dir()
        assert not {"/", "\\", ":", "\r", "\n", "\u202e"} & set(folder.name) and not folder.name.startswith(
            "."
        )
        assert folder.name.split(".")[0].upper() != "CON"
    assert (where.downloads / "Harbour" / "01 - One.mp3").read_bytes() == SONG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "outside"]
    outside_intact(where)
