"""Server mode end to end: JobRunner saves real MP3/FLAC/OGG/Opus/M4A files, tags them, adds the playlist."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from audiofetch.jobs import JobSpec
from audiofetch.tags import existing_id3v2_length
from tests.kit.runner import open_harness, runner_settings
from tests.kit.wait import job_in
from tests.tags.media_site import MediaSite, jsonld_album, read_tags
from tests.tags.tag_media import m4a_first_chunk, png_bytes

COVER = png_bytes(4, 4, (10, 120, 200))
# (title, format, ISO duration): the page gives durations for some tracks only.
ALBUM = [
    ("Paper Boats", "mp3", "PT3M21S"),
    ("Lantern — 夜", "flac", "PT4M2S"),
    ("Tidewater", "ogg", None),
    ("Salt", "opus", "PT59.6S"),
    ("Harbour Bell", "m4a", "PT1M"),
]
PLAYLIST = (
    "#EXTM3U\n"
    "#EXTINF:201,Paper Boats\n01 - Paper Boats.mp3\n"
    "#EXTINF:242,Lantern — 夜\n02 - Lantern — 夜.flac\n"
    "#EXTINF:-1,Tidewater\n03 - Tidewater.ogg\n"
    "#EXTINF:60,Salt\n04 - Salt.opus\n"
    "#EXTINF:60,Harbour Bell\n05 - Harbour Bell.m4a\n"
)


def publish(site: MediaSite, encoded: dict[str, Path], *, og_image: str | None = "/art/cover.png") -> None:
    tracks = []
    for number, (title, ext, duration) in enumerate(ALBUM, start=1):
        path = f"/media/{number}.{ext}"
        site.files[path] = encoded[ext].read_bytes()
        tracks.append((title, path, duration))
    site.pages["/album"] = jsonld_album("Harbour Lights", "Lena Hart", tracks, og_image=og_image)
    site.files["/art/cover.png"] = COVER
    site.pages["/art/not-an-image.png"] = "<html><body>Forbidden</body></html>"


@pytest.fixture
async def site(aiohttp_server: Any, encoded: dict[str, Path]) -> tuple[MediaSite, TestServer]:
    media = MediaSite()
    publish(media, encoded)
    return media, await aiohttp_server(media.app())


async def test_server_mode_tags_every_format_and_writes_the_playlist(
    site: tuple[MediaSite, TestServer], encoded: dict[str, Path], tmp_path: Path
) -> None:
    media, server = site
    async with open_harness(runner_settings(tmp_path)) as harness:
        job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album")), mode="server"))
        done = await job_in(harness, job.id)
        folder = harness.runner.downloads_dir() / "Harbour Lights"
    assert done.status == "completed", done.error
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "00 - Harbour Lights.m3u8",
        *(f"{n:02d} - {t}.{e}" for n, (t, e, _) in enumerate(ALBUM, 1)),
    ]
    for number, (title, ext, _) in enumerate(ALBUM, start=1):
        path = folder / f"{number:02d} - {title}.{ext}"
        tags = read_tags(path)
        assert (tags.title, tags.artist, tags.album, tags.track) == (
            title, "Lena Hart", "Harbour Lights", f"{number}/5",
        ), ext  # fmt: skip
        assert tags.covers == [("image/png", COVER)], ext
        assert tags.length > 0.2, ext  # the audio is still there and readable
    mp3 = (folder / "01 - Paper Boats.mp3").read_bytes()
    tag_length = existing_id3v2_length(mp3)
    assert tag_length is not None and mp3[tag_length:] == encoded["mp3"].read_bytes()
    m4a = (folder / "05 - Harbour Bell.m4a").read_bytes()
    assert m4a_first_chunk(m4a) == m4a_first_chunk(encoded["m4a"].read_bytes())  # chunk offsets follow
    playlist = (folder / "00 - Harbour Lights.m3u8").read_bytes()
    assert playlist.decode("utf-8") == PLAYLIST
    assert media.seen.count("/art/cover.png") == 1  # one fetch for five files
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left


async def test_tags_off_leaves_every_file_as_sent_but_keeps_the_playlist(
    site: tuple[MediaSite, TestServer], encoded: dict[str, Path], tmp_path: Path
) -> None:
    media, server = site
    async with open_harness(runner_settings(tmp_path)) as harness:
        spec = JobSpec(str(server.make_url("/album")), mode="server", name="Plain", tags=False)
        job, _ = await harness.runner.submit(spec)
        done = await job_in(harness, job.id)
        folder = harness.runner.downloads_dir() / "Plain"
        assert (await harness.store.get(job.id)).spec.tags is False
    assert done.status == "completed", done.error
    for number, (title, ext, _) in enumerate(ALBUM, start=1):
        assert (folder / f"{number:02d} - {title}.{ext}").read_bytes() == encoded[ext].read_bytes(), ext
    assert (folder / "00 - Plain.m3u8").read_text(encoding="utf-8") == PLAYLIST  # named by the Name
    assert "/art/cover.png" not in media.seen


@pytest.mark.parametrize("og_image", ["/art/not-an-image.png", "/art/missing.png"])
async def test_a_cover_that_cannot_be_had_is_skipped_and_the_rest_is_tagged(
    aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path, og_image: str, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="audiofetch.jobs")
    media = MediaSite()
    publish(media, encoded, og_image=og_image)
    server = await aiohttp_server(media.app())
    async with open_harness(runner_settings(tmp_path)) as harness:
        job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album")), mode="server"))
        done = await job_in(harness, job.id)
        folder = harness.runner.downloads_dir() / "Harbour Lights"
    assert done.status == "completed", done.error
    assert [t.status for t in done.tracks] == ["done"] * len(ALBUM)
    for number, (title, ext, _) in enumerate(ALBUM, start=1):
        tags = read_tags(folder / f"{number:02d} - {title}.{ext}")
        assert (tags.title, tags.track, tags.covers) == (title, f"{number}/5", []), ext
    assert media.seen.count(og_image) == 1
    assert any("no cover from" in record.getMessage() for record in caplog.records)


async def test_a_file_that_cannot_be_tagged_still_counts_as_downloaded(
    aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path
) -> None:
    media = MediaSite()
    publish(media, encoded)
    broken = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40  # an ID3 header, then no MPEG frames
    media.files["/media/1.mp3"] = broken
    server = await aiohttp_server(media.app())
    async with open_harness(runner_settings(tmp_path)) as harness:
        job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album")), mode="server"))
        done = await job_in(harness, job.id)
        folder = harness.runner.downloads_dir() / "Harbour Lights"
    assert done.status == "completed", done.error
    assert done.tracks[0].status == "done"
    assert (folder / "01 - Paper Boats.mp3").read_bytes() == broken
    assert read_tags(folder / "02 - Lantern — 夜.flac").title == "Lantern — 夜"
    assert "01 - Paper Boats.mp3" in (folder / "00 - Harbour Lights.m3u8").read_text(encoding="utf-8")
