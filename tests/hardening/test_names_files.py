"""Hostile names from the network end as one safe file inside the job's folder (or ZIP), with the audio
extension: Content-Disposition, URL paths, page titles and track titles, detected and downloaded for real.

tests/test_naming.py proves the sanitiser on strings; here the names travel the whole way (server ->
detect -> download -> disk / ZIP) and the test looks at what is really on disk.
"""

from __future__ import annotations

import io
import os
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from audiofetch.config import Settings
from audiofetch.detect import detect
from audiofetch.download import DirectorySink, RetryPolicy, ZipDownload, download_all, probe_tracks
from audiofetch.models import Track
from audiofetch.naming import MAX_NAME_BYTES
from audiofetch.net import open_fetcher
from tests.hardening.netkit import audio

SONG = audio(20_000)
WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{n}" for n in range(10)),
    *(f"LPT{n}" for n in range(10)),
}
FORBIDDEN = set('/\\:*?"<>|') | {chr(n) for n in range(32)} | {"\x7f"}


def assert_safe_name(name: str, ext: str = ".mp3") -> None:
    """One component that unpacks to the same file on Linux, macOS and Windows, ending in ``ext``."""
    assert name.endswith(ext), name
    assert name not in ("", ".", "..") and not name.startswith(".")
    assert not FORBIDDEN & set(name), repr(name)
    assert not [c for c in name if unicodedata.category(c) in ("Cf", "Cc", "Zl", "Zp")], repr(name)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert name.split(".")[0].strip().upper() not in WINDOWS_DEVICES
    assert not name.endswith((" ", "."))


def only_files_under(root: Path) -> list[Path]:
    """Every file below ``root`` (symlinks included, never followed)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        found.extend(
            Path(folder) / name for name in files + [d for d in dirs if Path(folder, d).is_symlink()]
        )
    return found


DISPOSITIONS = [
    'attachment; filename="../../../../tmp/evil.mp3"',
    "attachment; filename*=UTF-8''..%2F..%2F..%2Fevil.mp3",
    "attachment; filename*=UTF-8''%2e%2e%2f%2e%2e%2fevil.mp3",
    'attachment; filename="..\\\\..\\\\windows\\\\evil.mp3"',
    'attachment; filename="/etc/cron.d/evil"',
    "attachment; filename*=UTF-8''a%00b%00.mp3",
    "attachment; filename*=UTF-8''line%0D%0ABreak.mp3",
    "attachment; filename*=UTF-8''invoice%E2%80%AEpm3.exe",
    'attachment; filename="CON.mp3"',
    'attachment; filename="lpt1"',
    'attachment; filename="nul.txt.mp3"',
    f'attachment; filename="{"A" * 400}.mp3"',
    'attachment; filename="launcher.desktop"',
    'attachment; filename="setup.exe"',
    'attachment; filename=".bashrc"',
    'attachment; filename=".."',
]


def site(routes: dict[str, tuple[bytes, dict[str, str]]]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body, headers = routes.get(request.path, routes.get("*", (b"", {})))
        if not body:
            raise web.HTTPNotFound()
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get(r"/{tail:[\s\S]*}", handle)
    return app


async def fetch_into_folder(settings: Settings, urls: Sequence[str], folder: Path) -> list[str]:
    """Detect each URL and download what it holds into ``folder``; the saved names."""
    names: list[str] = []
    async with open_fetcher(settings) as fetcher:
        for url in urls:
            detection = await detect(fetcher, url, settings=settings)
            report = await download_all(
                fetcher, detection.tracks, DirectorySink(folder), workers=2, settings=settings,
                retry_policy=RetryPolicy(retries=0),
            )  # fmt: skip
            assert not report.failed, report
            names.extend(r.filename or "" for r in report.results)
    return names


@pytest.mark.parametrize("disposition", DISPOSITIONS)
async def test_content_disposition_names_stay_in_the_folder_as_mp3(
    aiohttp_server: Any, settings: Settings, tmp_path: Path, disposition: str
) -> None:
    headers = {"Content-Type": "application/octet-stream", "Content-Disposition": disposition}
    server = await aiohttp_server(site({"/download": (SONG, headers)}))
    folder = tmp_path / "jail" / "job"
    (name,) = await fetch_into_folder(settings, [str(server.make_url("/download"))], folder)
    assert_safe_name(name)
    assert only_files_under(tmp_path / "jail") == [folder / name]
    assert (folder / name).read_bytes()[:3] == b"ID3"


HOSTILE_PATHS = [
    "/music/..%2f..%2f..%2fetc%2fpasswd.mp3",
    "/music/%2e%2e%2f%2e%2e%2fevil.mp3",
    "/music/%2e%2e/%2e%2e/evil2.mp3",
    "/music/%2Fetc%2Fshadow.mp3",
    "/music/C:%5CWindows%5Cevil.mp3",
    "/music/a%00b.mp3",
    "/music/cr%0d%0alf.mp3",
    "/music/%E2%80%AEevil.mp3",
    "/music/AUX.mp3",
    "/music/" + "B" * 400 + ".mp3",
    "/music/launcher.desktop.mp3",
    "/music/%2e%2e.mp3",
]


async def test_hostile_url_paths_become_safe_names_in_the_folder(
    aiohttp_server: Any, settings: Settings, tmp_path: Path
) -> None:
    server = await aiohttp_server(site({"*": (SONG, {"Content-Type": "audio/mpeg"})}))
    urls = [str(server.make_url("/")).rstrip("/") + path for path in HOSTILE_PATHS]
    folder = tmp_path / "jail" / "job"
    names = await fetch_into_folder(settings, urls, folder)
    assert len(names) == len(HOSTILE_PATHS)
    for name in names:
        assert_safe_name(name)
    assert sorted(only_files_under(tmp_path / "jail")) == sorted(folder / name for name in names)


TITLES = [
    "../../../etc/passwd",
    "..",
    "/absolute/path",
    "C:\\Windows\\System32\\evil",
    "nul\x00byte",
    "line\r\nbreak",
    "evil\u202egpj.exe",
    "\u200bzero\ufeffwidth",
    "CON",
    "com1.txt",
    "LPT9",
    "T" * 400,
    "ü" * 300,
    "Song",
    "SONG",
    "song",
    "setup.exe",
    "launcher.desktop",
    "   ",
    "...",
]


def album(titles: Sequence[str]) -> str:
    items = "".join(
        f'<li><audio src="/t{n}.bin" title="{html_attr(title)}"></audio></li>'
        for n, title in enumerate(titles)
    )
    return f"<!DOCTYPE html><html><head><title>Album</title></head><body><ul>{items}</ul></body></html>"


def html_attr(text: str) -> str:
    return "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in text)


@pytest.fixture
async def titled_album(aiohttp_server: Any) -> str:
    routes: dict[str, tuple[bytes, dict[str, str]]] = {
        "/album.html": (album(TITLES).encode(), {"Content-Type": "text/html; charset=utf-8"}),
        "*": (SONG, {"Content-Type": "application/octet-stream"}),
    }
    server = await aiohttp_server(site(routes))
    return str(server.make_url("/album.html"))


async def test_hostile_track_titles_give_distinct_safe_files(
    titled_album: str, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "jail" / "job"
    names = await fetch_into_folder(settings, [titled_album], folder)
    assert len(names) == len(TITLES)
    for name in names:
        assert_safe_name(name)
    assert len({name.casefold() for name in names}) == len(names)
    assert sorted(only_files_under(tmp_path / "jail")) == sorted(folder / name for name in names)


async def test_hostile_track_titles_give_safe_zip_entries(
    titled_album: str, settings: Settings, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    async with open_fetcher(settings) as fetcher:
        detection = await detect(fetcher, titled_album, settings=settings)
        probes = await probe_tracks(fetcher, detection.tracks, referer=titled_album, workers=4)
        download = ZipDownload(fetcher, detection.tracks, probes, spool=spool, settings=settings, workers=4)
        try:
            body = b"".join([chunk async for chunk in download.chunks()])
        finally:
            await download.close()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert len(names) == len(TITLES)
        for name in names:
            assert_safe_name(name)
        assert len({name.casefold() for name in names}) == len(names)
        archive.extractall(tmp_path / "unpacked")
    assert sorted(p.name for p in (tmp_path / "unpacked").iterdir()) == sorted(names)
    assert not spool.exists()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/launcher.desktop", "application/x-desktop"),
        ("/setup.exe", "application/x-msdownload"),
        ("/run.sh", "text/x-shellscript"),
        ("/song.mp3.exe", "application/octet-stream"),
        ("/play.bat", "audio/mpeg"),
    ],
)
async def test_audio_served_under_a_program_extension_is_saved_as_audio(
    aiohttp_server: Any, settings: Settings, tmp_path: Path, path: str, content_type: str
) -> None:
    server = await aiohttp_server(site({"*": (SONG, {"Content-Type": content_type})}))
    track = Track(str(server.make_url(path)), title=None, index=1)
    async with open_fetcher(settings) as fetcher:
        report = await download_all(fetcher, [track], DirectorySink(tmp_path), workers=1, settings=settings)
        (probe,) = await probe_tracks(fetcher, [track], referer=None, workers=1)
    assert report.results[0].filename == "01 - Track 01.mp3"
    assert probe.ext == "mp3"


@pytest.mark.parametrize("path", ["/payload.exe", "/payload.sh", "/payload.bat", "/payload.scr"])
async def test_unrecognized_bytes_never_keep_a_program_extension(
    aiohttp_server: Any, settings: Settings, tmp_path: Path, path: str
) -> None:
    server = await aiohttp_server(
        site({"*": (b"MZ\x90\x00" + b"\x00" * 5000, {"Content-Type": "application/octet-stream"})})
    )
    track = Track(str(server.make_url(path)), title="payload", index=1)
    async with open_fetcher(settings) as fetcher:
        report = await download_all(fetcher, [track], DirectorySink(tmp_path), workers=1, settings=settings)
    saved = report.results[0].filename or ""
    assert not saved.endswith((".exe", ".sh", ".bat", ".scr")), saved
