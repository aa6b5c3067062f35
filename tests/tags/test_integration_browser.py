"""Browser mode end to end: the streamed ZIP carries ID3-tagged MP3s, an exact length and the playlist."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from audiofetch.jobs import JobSpec
from audiofetch.tags import existing_id3v2_length
from tests.kit.runner import open_harness, read_zip, runner_settings
from tests.tags.media_site import MediaSite, aplayer_page, read_tags
from tests.tags.tag_media import jpeg_bytes, lame_tagged_mp3, png_bytes
from tests.zipcheck import unzip_tests

PAGE_COVER = png_bytes(2, 2, (250, 200, 0))
TRACK_COVER = jpeg_bytes()
NAMES = ["01 - First Light.mp3", "02 - Low Tide.mp3", "03 - Undertow.mp3", "04 - Still Water.flac"]
PLAYLIST = "".join(f"#EXTINF:-1,{name[5:].rsplit('.', 1)[0]}\n{name}\n" for name in NAMES)


@pytest.fixture
async def site(aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path) -> tuple[MediaSite, TestServer]:
    media = MediaSite()
    media.files["/media/one.mp3"] = encoded["mp3"].read_bytes()
    own = lame_tagged_mp3(encoded["wav"], tmp_path / "own.mp3", "Artist's Own Title", "Someone")
    media.files["/media/two.mp3"] = own.read_bytes()
    media.files["/media/three.mp3"] = encoded["mp3"].read_bytes()
    media.files["/media/four.flac"] = encoded["flac"].read_bytes()
    media.files["/art/one.jpg"] = TRACK_COVER
    media.files["/art/page.png"] = PAGE_COVER
    songs = [
        {"name": "First Light", "artist": "Mira Vale", "url": "/media/one.mp3", "cover": "/art/one.jpg"},
        {"name": "Low Tide", "artist": "Mira Vale", "url": "/media/two.mp3"},
        {"name": "Undertow", "artist": "Mira Vale", "url": "/media/three.mp3"},
        {"name": "Still Water", "artist": "Mira Vale", "url": "/media/four.flac"},
    ]
    media.pages["/radio"] = aplayer_page("Night Radio", songs, og_image="/art/page.png")
    return media, await aiohttp_server(media.app())


async def stream_zip(tmp_path: Path, url: str, *, tags: bool) -> tuple[bytes, int | None]:
    async with open_harness(runner_settings(tmp_path)) as (runner, *_):
        job, _ = await runner.submit(JobSpec(url, mode="browser", tags=tags))
        await runner.analyse(job.id)
        body, stream = await read_zip(runner, job.id)
        return body, stream.length


async def test_browser_zip_has_tagged_mp3s_an_exact_length_and_the_playlist(
    site: tuple[MediaSite, TestServer], tmp_path: Path
) -> None:
    media, server = site
    body, length = await stream_zip(tmp_path, str(server.make_url("/radio")), tags=True)
    assert length == len(body)
    archive_path = tmp_path / "radio.zip"
    archive_path.write_bytes(body)
    unzip_tests(archive_path)
    extracted = tmp_path / "out"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [*NAMES, "00 - Night Radio.m3u8"]
        archive.extractall(extracted)

    first = read_tags(extracted / NAMES[0])
    assert (first.title, first.artist, first.album, first.track) == (
        "First Light",
        "Mira Vale",
        "Night Radio",
        "1/4",
    )
    assert first.covers == [("image/jpeg", TRACK_COVER)]  # the track's own cover wins over the page's
    third = read_tags(extracted / NAMES[2])
    assert (third.title, third.track, third.covers) == ("Undertow", "3/4", [("image/png", PAGE_COVER)])
    for name, source in ((NAMES[0], "/media/one.mp3"), (NAMES[2], "/media/three.mp3")):
        data = (extracted / name).read_bytes()
        tag_length = existing_id3v2_length(data)
        assert tag_length is not None and data[tag_length:] == media.files[source]  # audio untouched
    # An upstream MP3 with its own ID3v2 tag is sent as it is; FLAC cannot be tagged while streaming.
    assert (extracted / NAMES[1]).read_bytes() == media.files["/media/two.mp3"]
    assert read_tags(extracted / NAMES[1]).title == "Artist's Own Title"
    assert (extracted / NAMES[3]).read_bytes() == media.files["/media/four.flac"]
    assert (extracted / "00 - Night Radio.m3u8").read_text(encoding="utf-8") == "#EXTM3U\n" + PLAYLIST
    assert media.seen.count("/art/one.jpg") == 1 and media.seen.count("/art/page.png") == 1


async def test_browser_zip_without_tags_holds_the_upstream_bytes(
    site: tuple[MediaSite, TestServer], tmp_path: Path
) -> None:
    media, server = site
    body, length = await stream_zip(tmp_path, str(server.make_url("/radio")), tags=False)
    assert length == len(body)
    sources = ["/media/one.mp3", "/media/two.mp3", "/media/three.mp3", "/media/four.flac"]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name, source in zip(NAMES, sources, strict=True):
            assert archive.read(name) == media.files[source], name
        assert archive.read("00 - Night Radio.m3u8").decode("utf-8") == "#EXTM3U\n" + PLAYLIST
    assert "/art/one.jpg" not in media.seen and "/art/page.png" not in media.seen
