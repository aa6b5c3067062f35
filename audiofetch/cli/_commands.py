"""The work behind ``audiofetch inspect`` and ``audiofetch get``: detect, then download or zip.

``get`` finishes like server mode (``audiofetch.jobs`` tags and playlist): a folder's MP3s are tagged
while they download, its other files once saved, a few at a time; a ZIP is written in one streaming
pass, so only its MP3s are tagged (an ID3v2 tag sent before the audio) and its playlist, the last
entry, lists the tracks that made it in.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch.config import Settings
from audiofetch.download import DirectorySink, DownloadReport, ZipDownload, download_all, probe_tracks
from audiofetch.errors import DownloadError
from audiofetch.jobs import (
    FrontTags,
    PageTags,
    SavedTrack,
    delivered_playlist_entry,
    finish_folder,
    load_covers,
    stream_prefixes,
)
from audiofetch.models import Detection
from audiofetch.naming import UniqueNames, sanitize_name
from audiofetch.net import Fetcher, open_fetcher
from audiofetch.render import PageResult, Renderer, detect_rendered

from ._progress import ProgressView, human_bytes

__all__ = ["get_page", "inspect_page"]


async def inspect_page(settings: Settings, url: str, *, plugin: str, prefer: Sequence[str]) -> Detection:
    """Detect the tracks of ``url`` without downloading them (running its scripts per ``settings.render``)."""
    async with open_fetcher(settings) as fetcher:
        return (await _detect(fetcher, settings, url, plugin=plugin, prefer=prefer)).detection


async def _detect(
    fetcher: Fetcher, settings: Settings, url: str, *, plugin: str, prefer: Sequence[str]
) -> PageResult:
    async with Renderer(settings) as renderer:
        return await detect_rendered(
            fetcher,
            url,
            settings=settings,
            renderer=renderer,
            mode=settings.render,
            plugin=plugin,
            prefer=prefer,
        )


def _free_zip_path(out: Path, name: str) -> Path:
    """``out/NAME.zip``, or ``NAME (2).zip`` when taken: an existing ZIP is never replaced."""
    names = UniqueNames()
    for existing in out.iterdir():
        names.claim(existing.name)
    return out / names.claim(f"{name}.zip")


def _folder_name(name: str | None, detection: Detection) -> str:
    fallback = urlsplit(detection.page_url).hostname or "audio"
    return sanitize_name(name or detection.title or fallback, fallback="audio")


async def _to_folder(
    fetcher: Fetcher,
    detection: Detection,
    folder: Path,
    settings: Settings,
    view: ProgressView,
    *,
    tags: bool,
) -> DownloadReport:
    page = PageTags.from_detection(detection)
    front = None
    if tags:  # MP3s get their tags while they download; covers are fetched meanwhile
        covers = load_covers(fetcher, page, detection.tracks, referer=detection.page_url)
        front = FrontTags(detection.tracks, page, covers)
    sink = DirectorySink(folder, edit_head=front)
    try:
        report = await download_all(
            fetcher, detection.tracks, sink, workers=settings.workers, settings=settings,
            referer=detection.page_url, on_event=view.on_event,
        )  # fmt: skip
        page = await front.page() if front is not None else page
    finally:
        if front is not None:
            front.close()
    by_index = {track.index: track for track in detection.tracks}
    saved = [
        SavedTrack(by_index[result.index], result.filename)
        for result in report.results
        if result.ok and result.filename and result.index in by_index
    ]
    done = front.done if front is not None else set()
    tagged = {result.filename for pos, result in enumerate(report.results) if pos in done and result.filename}
    await finish_folder(fetcher, folder, saved, page, tag=tags, referer=detection.page_url, tagged=tagged)
    return report


async def _to_zip(
    fetcher: Fetcher,
    detection: Detection,
    target: Path,
    settings: Settings,
    view: ProgressView,
    *,
    tags: bool,
) -> DownloadReport:
    """Stream the ZIP to ``target.part`` while downloading, then rename: no half-written ZIP is left."""
    import aiofiles  # only ZIPs need it: folder mode starts faster without

    tracks = detection.tracks
    probes = await probe_tracks(fetcher, tracks, referer=detection.page_url, workers=settings.workers)
    # Sizes are not promised for a file: a track failing half-way then ends up in ERRORS.txt.
    probes = [replace(probe, size=None) for probe in probes]
    page = PageTags.from_detection(detection)
    if tags and any(probe.ext == "mp3" for probe in probes):  # only MP3s are tagged while streaming
        page = await load_covers(fetcher, page, tracks, referer=detection.page_url)
    names = ZipDownload.entry_names(tracks, probes)
    saved = [SavedTrack(track, name) for track, name in zip(tracks, names, strict=True)]
    partial = target.with_name(target.name + ".part")
    spool = Path(tempfile.mkdtemp(prefix=".audiofetch-spool-", dir=target.parent))
    # The playlist is read after every track, so it can list only the tracks that reached the archive.
    playlist = delivered_playlist_entry(
        saved, page, lambda position: download.delivered(position), numbered_total=len(tracks)
    )
    download = ZipDownload(
        fetcher, tracks, probes, spool=spool, settings=settings, workers=settings.workers,
        referer=detection.page_url, on_event=view.on_event,
        prefixes=stream_prefixes(tracks, probes, page, tag=tags), extra_entries=[playlist],
    )  # fmt: skip
    try:
        async with aiofiles.open(partial, "wb") as out:
            async for chunk in download.chunks():
                await out.write(chunk)
        report = download.report
        if report is None or not report.succeeded:
            raise DownloadError("no track could be downloaded, so no ZIP was written")
        os.replace(partial, target)
        return report
    finally:
        await download.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


async def get_page(
    settings: Settings,
    url: str,
    *,
    name: str | None,
    out: Path,
    as_zip: bool,
    plugin: str,
    prefer: Sequence[str],
    interactive: bool,
    tags: bool = True,
) -> int:
    """Download every track of ``url`` into ``out/NAME/`` (or ``out/NAME.zip``); return the exit code.

    ``tags`` False leaves the files as the site sent them (the playlist is still added).
    """
    view = ProgressView(interactive=interactive)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the folder {out}: {exc.strerror}") from exc
    async with open_fetcher(settings) as shared:
        found = await _detect(shared, settings, url, plugin=plugin, prefer=prefer)
        detection = found.detection
        # The cookies the page's scripts set go with this run's downloads only (never stored).
        fetcher = shared.for_page(detection.page_url, found.cookie)
        folder_name = _folder_name(name, detection)
        for stream in detection.skipped:
            print(f"skipped {stream.url}: {stream.reason}", file=sys.stderr)
        if not detection.tracks:
            print(
                "audiofetch: the page only has streams that never end; nothing to download", file=sys.stderr
            )
            return 3
        target = _free_zip_path(out, folder_name) if as_zip else out / folder_name
        print(f"{len(detection.tracks)} tracks from {detection.player} -> {target}", file=sys.stderr)
        if as_zip:
            report = await _to_zip(fetcher, detection, target, settings, view, tags=tags)
        else:
            report = await _to_folder(fetcher, detection, target, settings, view, tags=tags)
    failed = report.failed
    summary = f"{len(report.succeeded)} of {len(report.results)} tracks, {human_bytes(report.bytes_done)}"
    if failed:
        print(f"audiofetch: {len(failed)} failed ({summary} arrived):", file=sys.stderr)
        for result in failed:
            print(f"  {result.line()}", file=sys.stderr)
        return 1
    print(f"done: {summary} in {report.elapsed:.1f} s", file=sys.stderr)
    return 0
