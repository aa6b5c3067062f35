"""``audiofetch get`` as a child process: folders tagged with a playlist, --no-tags, and --zip."""

from __future__ import annotations

import asyncio
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from audiofetch.tags import existing_id3v2_length
from tests.tags.media_site import MediaSite, jsonld_album, read_tags
from tests.tags.tag_media import png_bytes

COVER = png_bytes(3, 3, (0, 90, 40))
TRACKS = [("Dawn", "mp3", "PT2M"), ("Drift", "flac", None), ("Dusk", "ogg", "PT30S"), ("Dark", "mp3", None)]
NAMES = [f"{n:02d} - {title}.{ext}" for n, (title, ext, _) in enumerate(TRACKS, start=1)]


@pytest.fixture
async def site(aiohttp_server: Any, encoded: dict[str, Path]) -> tuple[MediaSite, TestServer]:
    media = MediaSite()
    listed = []
    for n, (title, ext, duration) in enumerate(TRACKS, start=1):
        media.files[f"/media/{n}.{ext}"] = encoded[ext].read_bytes()
        listed.append((title, f"/media/{n}.{ext}", duration))
    media.files["/cover.png"] = COVER
    media.pages["/set"] = jsonld_album("Four Hours", "Ode Ensemble", listed, og_image="/cover.png")
    return media, await aiohttp_server(media.app())


async def run_get(cwd: Path, *args: str) -> tuple[int, str]:
    """The real CLI in a child process; the test's loop keeps serving the site meanwhile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOFETCH_")}
    env["AUDIOFETCH_DATA_DIR"] = str(cwd / "data")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "audiofetch", "get", *args, "--allow-network", "127.0.0.0/8",
        cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=90)
    assert child.returncode is not None
    return child.returncode, stderr.decode()


def expected_playlist(names: list[str]) -> str:
    lines = ["#EXTM3U"]
    seconds = {"Dawn": 120, "Dusk": 30}
    for name in names:
        title = name[5:].rsplit(".", 1)[0]
        lines += [f"#EXTINF:{seconds.get(title, -1)},{title}", name]
    return "\n".join(lines) + "\n"


async def test_get_tags_the_folder_and_writes_the_playlist(
    site: tuple[MediaSite, TestServer], encoded: dict[str, Path], tmp_path: Path
) -> None:
    media, server = site
    code, stderr = await run_get(tmp_path, str(server.make_url("/set")), "--out", "out")
    assert code == 0, stderr
    folder = tmp_path / "out" / "Four Hours"
    assert sorted(p.name for p in folder.iterdir()) == ["00 - Four Hours.m3u8", *NAMES]
    for number, name in enumerate(NAMES, start=1):
        tags = read_tags(folder / name)
        assert (tags.title, tags.artist, tags.album, tags.track) == (
            name[5:].rsplit(".", 1)[0], "Ode Ensemble", "Four Hours", f"{number}/4",
        ), name  # fmt: skip
        assert tags.covers == [("image/png", COVER)], name
    assert (folder / "00 - Four Hours.m3u8").read_text(encoding="utf-8") == expected_playlist(NAMES)
    assert media.seen.count("/cover.png") == 1


async def test_get_no_tags_leaves_the_files_byte_identical(
    site: tuple[MediaSite, TestServer], tmp_path: Path
) -> None:
    media, server = site
    code, stderr = await run_get(tmp_path, str(server.make_url("/set")), "Untouched", "--no-tags")
    assert code == 0, stderr
    folder = tmp_path / "Untouched"
    for number, (name, (_, ext, _)) in enumerate(zip(NAMES, TRACKS, strict=True), start=1):
        assert (folder / name).read_bytes() == media.files[f"/media/{number}.{ext}"], name
    assert (folder / "00 - Untouched.m3u8").read_text(encoding="utf-8") == expected_playlist(NAMES)
    assert "/cover.png" not in media.seen


@pytest.mark.parametrize("as_zip", [False, True])
async def test_the_name_names_the_album_the_playlist_and_the_zip_once(
    site: tuple[MediaSite, TestServer], tmp_path: Path, as_zip: bool
) -> None:
    _, server = site
    code, stderr = await run_get(tmp_path, str(server.make_url("/set")), "Mix.zip", *(["--zip"] * as_zip))
    assert code == 0, stderr
    if as_zip:
        assert [p.name for p in tmp_path.iterdir() if p.name != "data"] == ["Mix.zip"]  # not Mix.zip.zip
        with zipfile.ZipFile(tmp_path / "Mix.zip") as archive:
            archive.extractall(tmp_path / "Mix")
    folder = tmp_path / "Mix"
    assert sorted(p.name for p in folder.iterdir()) == ["00 - Mix.m3u8", *NAMES]
    tagged = NAMES if not as_zip else [n for n in NAMES if n.endswith(".mp3")]  # a ZIP tags only MP3s
    assert {read_tags(folder / name).album for name in tagged} == {"Mix"}


async def test_get_zip_tags_mp3s_while_streaming_and_lists_only_what_arrived(
    site: tuple[MediaSite, TestServer], tmp_path: Path
) -> None:
    media, server = site
    del media.files["/media/3.ogg"]  # track 3 fails: it goes to ERRORS.txt, not into the playlist
    code, stderr = await run_get(tmp_path, str(server.make_url("/set")), "--zip", "--out", "out")
    assert code == 1, stderr
    present = [NAMES[0], NAMES[1], NAMES[3]]
    with zipfile.ZipFile(tmp_path / "out" / "Four Hours.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [*present, "00 - Four Hours.m3u8", "ERRORS.txt"]
        archive.extractall(tmp_path / "x")
    for number, name in ((1, NAMES[0]), (4, NAMES[3])):
        data = (tmp_path / "x" / name).read_bytes()
        tag_length = existing_id3v2_length(data)
        assert tag_length is not None and data[tag_length:] == media.files[f"/media/{number}.mp3"]
        tags = read_tags(tmp_path / "x" / name)
        assert (tags.title, tags.track, tags.covers) == (name[5:-4], f"{number}/4", [("image/png", COVER)])
    assert (tmp_path / "x" / NAMES[1]).read_bytes() == media.files["/media/2.flac"]  # streamed as sent
    playlist = (tmp_path / "x" / "00 - Four Hours.m3u8").read_text(encoding="utf-8")
    assert playlist == expected_playlist(present)
