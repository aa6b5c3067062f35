"""The work behind ``audiofetch inspect`` and ``audiofetch get``. ``get`` is a client of the job
pipeline the server runs (``audiofetch.jobs``: analyse, probe, download, tag), drawn on the terminal;
its ZIP's playlist, the last entry, lists only the tracks that made it in.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from audiofetch.config import Settings
from audiofetch.download import DownloadReport
from audiofetch.errors import DownloadError
from audiofetch.jobs import (
    FolderDownload,
    JobSpec,
    PageTags,
    Run,
    analyse_page,
    download_stem,
    free_path,
    probe_page,
    zip_download,
)
from audiofetch.models import Detection, Track
from audiofetch.net import open_fetcher
from audiofetch.render import Renderer, detect_rendered

from ._progress import ProgressView, human_bytes

__all__ = ["get_page", "inspect_page"]


async def inspect_page(settings: Settings, url: str, *, plugin: str, prefer: Sequence[str]) -> Detection:
    """Detect the tracks of ``url`` without downloading them (running its scripts per ``settings.render``)."""
    async with open_fetcher(settings) as fetcher, Renderer(settings) as renderer:
        found = await detect_rendered(
            fetcher,
            url,
            settings=settings,
            renderer=renderer,
            mode=settings.render,
            plugin=plugin,
            prefer=prefer,
        )
        return found.detection


async def _to_zip(run: Run, tracks: Sequence[Track], target: Path, page: PageTags) -> DownloadReport:
    """Stream the ZIP to ``target.part`` while downloading, then rename: no half-written ZIP is left."""
    import aiofiles  # only ZIPs need it: folder mode starts faster without

    probes, page = await probe_page(run, tracks, page)
    partial = target.with_name(target.name + ".part")
    spool = Path(tempfile.mkdtemp(prefix=".audiofetch-spool-", dir=target.parent))
    download = zip_download(run, tracks, probes, page, spool=spool, exact=False)
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
        async with Renderer(settings) as renderer:
            spec = JobSpec(url, "server", name, plugin, prefer=tuple(prefer), tags=tags)
            detection, fetcher = await analyse_page(
                shared, spec, settings=settings, renderer=renderer, on_detected=view.on_detected
            )
        stem = download_stem(name, detection.title, detection.page_url)
        target = free_path(out, f"{stem}.zip") if as_zip else out / stem
        print(f"{len(detection.tracks)} tracks from {detection.player} -> {target}", file=sys.stderr)
        page = PageTags.from_detection(detection, name=name)
        run = Run(fetcher, settings, settings.workers, detection.page_url, tags, view.on_event)
        try:
            if as_zip:
                report = await _to_zip(run, detection.tracks, target, page)
            else:
                folder = FolderDownload(run, detection.tracks, target, page)
                report = await folder.download()
                await folder.finish(report)
        finally:
            view.end_line()  # Ctrl-C: "interrupted" must not land at the end of the bar
    failed = report.failed
    summary = f"{len(report.succeeded)} of {len(report.results)} tracks, {human_bytes(report.bytes_done)}"
    if failed:
        print(f"audiofetch: {len(failed)} failed ({summary} arrived):", file=sys.stderr)
        for result in failed:
            print(f"  {result.line()}", file=sys.stderr)
        return 1
    print(f"done: {summary} in {report.elapsed:.1f} s", file=sys.stderr)
    return 0
