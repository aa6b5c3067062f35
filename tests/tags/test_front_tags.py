"""Folder mode: an MP3 is written once, its tag in front (``FrontTags``); other files are tagged after."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from audiofetch.download import DirectorySink, DownloadReport, download_all
from audiofetch.jobs import PageTags
from audiofetch.jobs._finish import FrontTags, SavedTrack, finish_folder, load_covers
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from audiofetch.tags import existing_id3v2_length
from tests.kit.runner import runner_settings
from tests.tags.media_site import MediaSite, read_tags
from tests.tags.tag_media import lame_tagged_mp3, png_bytes

COVER = png_bytes(2, 2, (5, 6, 7))


def written_bytes() -> int:
    """Bytes this process handed to write(2) and friends so far (``wchar`` of /proc/self/io)."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


async def fetch_folder(
    server: Any, tracks: list[Track], folder: Path, page: PageTags
) -> tuple[DownloadReport, FrontTags, int]:
    """Download with front tags, then finish the folder as ``get`` does; returns the bytes written too."""
    settings = runner_settings(folder.parent)
    async with open_fetcher(settings) as fetcher:
        before = written_bytes()
        front = FrontTags(tracks, page, load_covers(fetcher, page, tracks))
        report = await download_all(
            fetcher, tracks, DirectorySink(folder, edit_head=front), workers=2, settings=settings
        )
        page = await front.page()
        saved = [SavedTrack(t, r.filename) for t, r in zip(tracks, report.results, strict=True) if r.filename]
        done = {r.filename for pos, r in enumerate(report.results) if pos in front.done and r.filename}
        await finish_folder(fetcher, folder, saved, page, tagged=done)
        written = written_bytes() - before
    return report, front, written


async def test_an_mp3_is_written_once_with_its_tag_in_front(
    aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path
) -> None:
    site = MediaSite(files={"/a.mp3": encoded["mp3"].read_bytes(), "/cover.png": COVER})
    server = await aiohttp_server(site.app())
    tracks = [Track(str(server.make_url("/a.mp3")), title="Árvore", artist="Duo", index=1)]
    page = PageTags("Album", 2, str(server.make_url("/cover.png")))
    folder = tmp_path / "out"

    report, front, written = await fetch_folder(server, tracks, folder, page)

    mp3 = folder / "01 - Árvore.mp3"
    assert [r.filename for r in report.results] == [mp3.name]
    assert front.done == {0}
    data = mp3.read_bytes()
    length = existing_id3v2_length(data)
    assert length is not None and data[length:] == site.files["/a.mp3"]
    tags = read_tags(mp3)  # mutagen's MP3 and ID3 readers
    assert (tags.title, tags.artist, tags.album, tags.track) == ("Árvore", "Duo", "Album", "1/2")
    assert tags.covers == [("image/png", COVER)] and tags.length > 0
    # Written once: the file and the playlist, no tagged copy (tag_file would write it a second time).
    assert len(data) <= written <= 1.1 * len(data)
    assert site.seen.count("/cover.png") == 1


async def test_the_files_own_id3_tag_is_merged_at_the_head(
    aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path
) -> None:
    source = lame_tagged_mp3(encoded["wav"], tmp_path / "lame.mp3", "Own Title", "Own Artist").read_bytes()
    site = MediaSite(files={"/own.mp3": source})
    server = await aiohttp_server(site.app())
    tracks = [Track(str(server.make_url("/own.mp3")), title="Page Title", artist="Page Artist", index=4)]

    report, front, _ = await fetch_folder(server, tracks, tmp_path / "out", PageTags("Page Album", 9))

    assert front.done == {0}
    saved = (tmp_path / "out" / str(report.results[0].filename)).read_bytes()
    tags = read_tags(tmp_path / "out" / str(report.results[0].filename))
    assert (tags.title, tags.artist, tags.album, tags.track) == (
        "Own Title",
        "Own Artist",
        "Page Album",
        "4/9",
    )
    old, new = existing_id3v2_length(source), existing_id3v2_length(saved)
    assert old is not None and new is not None
    assert saved[new:] == source[old:]
    assert saved[3] == 4  # upgraded to ID3v2.4


async def test_a_tag_over_noise_is_neither_tagged_nor_rewritten(aiohttp_server: Any, tmp_path: Path) -> None:
    noise = b"ID3\x04\x00\x00\x00\x00\x00\x00" + random.Random(7).randbytes(300_000)
    site = MediaSite(files={"/noise.mp3": noise})
    server = await aiohttp_server(site.app())
    tracks = [Track(str(server.make_url("/noise.mp3")), title="Noise", index=1)]

    report, front, _ = await fetch_folder(server, tracks, tmp_path / "out", PageTags("A", 1))

    assert front.done == set()
    path = tmp_path / "out" / str(report.results[0].filename)
    assert path.read_bytes() == noise
    assert sorted(os.listdir(tmp_path / "out")) == ["00 - A.m3u8", path.name]


async def test_covers_that_fail_to_load_fail_no_track(
    aiohttp_server: Any, encoded: dict[str, Path], tmp_path: Path
) -> None:
    site = MediaSite(files={"/a.mp3": encoded["mp3"].read_bytes()})
    server = await aiohttp_server(site.app())
    tracks = [Track(str(server.make_url("/a.mp3")), title="Kept", index=1)]

    async def broken_covers() -> PageTags:
        raise RuntimeError("the cover loader broke")

    settings = runner_settings(tmp_path)
    async with open_fetcher(settings) as fetcher:
        front = FrontTags(tracks, PageTags("Album", 1), broken_covers())
        report = await download_all(
            fetcher, tracks, DirectorySink(tmp_path / "out", edit_head=front), workers=1, settings=settings
        )

    assert [r.status for r in report.results] == ["done"] and front.done == {0}
    tags = read_tags(tmp_path / "out" / "01 - Kept.mp3")
    assert (tags.title, tags.album, tags.covers) == ("Kept", "Album", [])
