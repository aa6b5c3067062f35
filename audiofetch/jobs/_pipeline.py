"""The one job pipeline of the server (``JobRunner``) and ``audiofetch get``: ``analyse_page``,
``probe_page`` (browser ZIPs), then ``FolderDownload`` or ``zip_download``, which tag and add the playlist.

The stages know nothing of the store or the terminal: they report progress to ``Run.on_event`` (the
runner's ``ProgressRelay`` writes it to the store and the broker, the CLI's ``ProgressView`` draws it)
and return what they found. The runner adds a job's status, limits and lifetime; ``get`` the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch.config import Settings
from audiofetch.detect import GivenPage, detect_given
from audiofetch.download import (
    DirectorySink,
    DownloadReport,
    OnEvent,
    Probe,
    ZipDownload,
    download_all,
    probe_tracks,
)
from audiofetch.errors import NoAudioError
from audiofetch.models import Detection, Track
from audiofetch.naming import UniqueNames, album_name, sanitize_name
from audiofetch.net import Fetcher
from audiofetch.render import Renderer, detect_rendered

from ._finish import (
    FrontTags,
    PageTags,
    SavedTrack,
    finish_folder,
    load_covers,
    playlist_entry,
    stream_prefixes,
)
from ._model import JobSpec

__all__ = [
    "FolderDownload",
    "Run",
    "analyse_page",
    "download_stem",
    "free_path",
    "probe_page",
    "zip_download",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Run:
    """What the download stages of one run share: the fetcher (with the page's cookies), the settings,
    the transfers at once, the referer, whether files are tagged, and who follows the progress."""

    fetcher: Fetcher
    settings: Settings
    workers: int
    referer: str | None
    tag: bool
    on_event: OnEvent | None = None


def download_stem(name: str | None, title: str | None, url: str) -> str:
    """The folder or ZIP name: the Name given (without a ``.zip``), else the page title, else the host."""
    chosen = album_name(name) or title or urlsplit(url).hostname or "audio"
    return sanitize_name(chosen, fallback="audio")


def free_path(root: Path, name: str, *, make_dir: bool = False) -> Path:
    """``root/name``, or ``name (2)``... when taken (nothing is replaced); ``make_dir`` reserves the name
    by creating the folder, against another job choosing it meanwhile."""
    root.mkdir(parents=True, exist_ok=True)
    names = UniqueNames()
    for entry in root.iterdir():
        names.claim(entry.name)
    while True:
        path = root / names.claim(name)
        try:
            if make_dir:
                path.mkdir()
            return path
        except FileExistsError:
            continue


async def analyse_page(
    fetcher: Fetcher,
    spec: JobSpec,
    *,
    settings: Settings,
    renderer: Renderer,
    given: GivenPage | None = None,
    on_detected: Callable[[Detection], None] | None = None,
) -> tuple[Detection, Fetcher]:
    """The tracks of ``spec.url`` (or of ``given``, a page as the user's browser showed it) and the
    fetcher to download them with: the cookies the page's scripts set go with this run's requests only.

    ``on_detected`` sees the detection before the check that it has something to download.
    """
    plugin = spec.plugin or "auto"
    if given is not None:
        detection = await detect_given(fetcher, given, settings=settings, plugin=plugin, prefer=spec.prefer)
    else:
        found = await detect_rendered(
            fetcher, spec.url, settings=settings, renderer=renderer, mode=spec.render or settings.render,
            plugin=plugin, prefer=spec.prefer,
        )  # fmt: skip
        detection = found.detection
        fetcher = fetcher.for_page(detection.page_url, found.cookie)
    if on_detected is not None:
        on_detected(detection)
    if not detection.tracks:
        raise NoAudioError("the page only has live streams, which cannot be downloaded")
    return detection, fetcher


async def probe_page(run: Run, tracks: Sequence[Track], page: PageTags) -> tuple[list[Probe], PageTags]:
    """One ``Probe`` per track (within ``settings.probe_deadline``) and ``page`` with the covers of the
    tracks that can be had, fetched only when MP3s are tagged while streaming."""
    probes = await probe_tracks(
        run.fetcher, tracks, referer=run.referer, workers=run.workers, deadline=run.settings.probe_deadline
    )
    usable = [t for t, p in zip(tracks, probes, strict=True) if p.error is None]
    if run.tag and any(p.ext == "mp3" for p in probes if p.error is None):
        page = await load_covers(run.fetcher, page, usable, referer=run.referer)
    return probes, page


def zip_download(
    run: Run, tracks: Sequence[Track], probes: Sequence[Probe], page: PageTags, *, spool: Path, exact: bool
) -> ZipDownload:
    """The ZIP of ``tracks``: each MP3 with a tag sent before it, the playlist as the last entry.

    ``exact``: the archive's size is promised (a browser's download shows it), so the probed sizes hold
    and the playlist lists every track. Otherwise (a file) a track that fails is left out and the
    playlist, read after every track, lists only the tracks that made it in.
    """
    if not exact:
        probes = [replace(item, size=None) for item in probes]
    names = ZipDownload.entry_names(tracks, probes)
    saved = [SavedTrack(track, name) for track, name in zip(tracks, names, strict=True)]
    download: ZipDownload  # the playlist asks it which tracks arrived
    delivered = None if exact else lambda position: download.delivered(position)
    playlist = playlist_entry(saved, page, numbered_total=len(tracks), delivered=delivered)
    prefixes = stream_prefixes(tracks, probes, page, tag=run.tag)
    download = ZipDownload(
        run.fetcher, tracks, probes, spool=spool, settings=run.settings, workers=run.workers,
        referer=run.referer, on_event=run.on_event, prefixes=prefixes, extra_entries=[playlist],
    )  # fmt: skip
    return download


class FolderDownload:
    """``tracks`` saved into ``folder``: ``download`` fetches them, ``finish`` tags them and writes the
    playlist (apart, so the runner can record the progress in between).

    With ``run.tag`` and ``early``, MP3s get their tags while they download (covers fetched meanwhile);
    ``early`` False (a job resumed after a restart: the page's details are gone) tags saved files
    only. ``sink`` is public so a server shutting down can keep the ``.part`` files for its restart.
    """

    def __init__(
        self, run: Run, tracks: Sequence[Track], folder: Path, page: PageTags, *, early: bool = True
    ) -> None:
        self._run, self._tracks, self._page = run, tracks, page
        self._front: FrontTags | None = None
        if run.tag and early:
            covers = load_covers(run.fetcher, page, tracks, referer=run.referer)
            self._front = FrontTags(tracks, page, covers)
        self.sink = DirectorySink(folder, edit_head=self._front)

    async def download(self) -> DownloadReport:
        """Fetch every track (one already complete in the folder is kept); see ``download_all``."""
        try:
            run = self._run
            return await download_all(
                run.fetcher, self._tracks, self.sink, workers=run.workers, settings=run.settings,
                referer=run.referer, on_event=run.on_event,
            )  # fmt: skip
        except BaseException:
            self.close()
            raise

    async def finish(self, report: DownloadReport) -> None:
        """Tag the saved files and write the playlist; a failure here is logged, never the run's."""
        by_index = {track.index or pos + 1: track for pos, track in enumerate(self._tracks)}
        saved = [
            SavedTrack(by_index.get(r.index) or Track(url=r.url, title=r.title, index=r.index), r.filename)
            for r in report.results
            if r.ok and r.filename
        ]
        front = self._front
        done = front.done if front is not None else set()
        tagged = {r.filename for pos, r in enumerate(report.results) if pos in done and r.filename}
        try:
            page = await front.page() if front is not None else self._page
            run = self._run
            await finish_folder(
                run.fetcher, self.sink.folder, saved, page, tag=run.tag, referer=run.referer,
                numbered_total=len(self._tracks), tagged=tagged,
            )  # fmt: skip
        except Exception:
            log.exception("tagging or the playlist failed in %s", self.sink.folder.name)
        finally:
            self.close()

    def close(self) -> None:
        """Stop fetching covers nobody will use."""
        if self._front is not None:
            self._front.close()
