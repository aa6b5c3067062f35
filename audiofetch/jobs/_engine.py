"""Running jobs (``JobRunner`` in ``_runner`` is the API in front): each run's task runs the pipeline's
stages, wired to the store and the broker. ``launch`` makes a run's ``LiveJob`` and ``finish`` drops it,
the one place each, so nothing of a run (task, stream, cookies, probes) outlives it; ``Memory`` keeps,
for the last ``DETAILS_KEPT`` jobs, what the page said (tags for a retry) or why its analysis failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from audiofetch.config import Settings
from audiofetch.detect import GivenPage
from audiofetch.download import OnEvent, Probe, ZipDownload
from audiofetch.errors import AudioFetchError
from audiofetch.logs import job_id_var
from audiofetch.models import Detection, Track
from audiofetch.net import Fetcher, JobCookies, Owner
from audiofetch.render import Renderer
from audiofetch.zipstream import ZipEntry

from ._admission import Admission
from ._events import JOB_COMPLETED, JOB_STATUS, JOB_TRACKS, Broker
from ._finish import PageTags
from ._model import Job, JobStatus, JobTrack
from ._pipeline import FolderDownload, Run, analyse_page, download_stem, free_path, probe_page
from ._relay import ProgressRelay
from ._store_api import JobStoreAPI
from ._webhook import JobWebhook

__all__ = ["DETAILS_KEPT", "BrowserStream", "JobEngine", "LiveJob", "Memory", "groups", "without_traceback"]

log = logging.getLogger(__name__)

DETAILS_KEPT = 200


class BrowserStream:
    """What ``JobRunner.open_stream`` hands the HTTP layer: ``entries`` for ``send_zip`` and ``close``.

    ``length`` is the archive's exact size when every track's size was probed. ``close`` must always be
    called (the HTTP handler does it in ``finally``); it stops the downloads, removes the spool and tells
    the runner whether the archive was delivered whole.
    """

    def __init__(
        self, filename: str, download: ZipDownload, on_close: Callable[[ZipDownload], Awaitable[None]]
    ) -> None:
        self._filename = filename
        self._download = download
        self._on_close = on_close
        self._closed = False

    @property
    def filename(self) -> str:
        return self._filename

    @property
    def length(self) -> int | None:
        return self._download.length

    @property
    def entries(self) -> Sequence[ZipEntry]:
        return self._download.entries

    @property
    def stall_reason(self) -> str | None:
        """Why the stream was given up on a reader too slow for too long, if it was."""
        return self._download.stall_reason

    async def stalled(self) -> None:
        """Return once the reader is too slow for too long: the HTTP layer then ends the response."""
        await self._download.stalled()

    async def close(self) -> None:
        """Stop and clean up (idempotent); the job ends completed only if every entry was read through."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._on_close(self._download)
        finally:
            await self._download.close()


@dataclass(frozen=True, slots=True)
class ReadyZip:
    """A browser-mode job between analysis and stream: the tracks that can be had, their probes, tags."""

    tracks: list[Track]
    probes: list[Probe]
    page: PageTags


@dataclass(eq=False, slots=True)
class LiveJob:
    """One job the runner runs now (see the module docstring for its lifetime)."""

    id: str
    address: str | None = None  # the network address that started this run, counted against its limit
    analysed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    fetcher: Fetcher | None = None  # with the rendered page's cookies: this run's requests only
    given: GivenPage | None = None  # a page the user's browser sent, until it is analysed
    cookies: JobCookies | None = None  # the cookies the user sent, narrowed to the tracks' sites
    ready: ReadyZip | None = None
    stream: BrowserStream | None = None
    folder: FolderDownload | None = None
    cancelling: bool = False


@dataclass(frozen=True, slots=True)
class Remembered:
    """What is kept of a job after its analysis: the page's details and the Name given, or the failure."""

    detection: Detection | None = None
    name: str | None = None
    failure: AudioFetchError | None = None
    sent: bool = False  # made from a page a browser sent: a retry asks to send it again


class Memory(dict[str, Remembered]):
    """``Remembered`` for the last ``size`` jobs, the oldest forgotten first (an unknown job: nothing)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size

    def __missing__(self, job_id: str) -> Remembered:
        return Remembered()

    def keep(self, job_id: str, **changes: Any) -> None:
        """Record ``changes`` for the job, which becomes the newest."""
        self[job_id] = replace(self.pop(job_id, Remembered()), **changes)
        while len(self) > self._size:
            del self[next(iter(self))]


def without_traceback(exc: AudioFetchError) -> AudioFetchError:
    """A copy of ``exc`` with its message and fields but no traceback, cause or context: those hold
    the frames of the analysis, and so the page and its parsed tree, for as long as the job is kept."""
    clone = type(exc).__new__(type(exc), *exc.args)
    clone.args = exc.args
    clone.__dict__.update(exc.__dict__)
    return clone


class JobEngine:
    """The runs of ``JobRunner``'s jobs; its attributes are the runner's services and job memory."""

    def __init__(
        self,
        settings: Settings,
        store: JobStoreAPI,
        broker: Broker,
        fetcher: Fetcher,
        renderer: Renderer,
        admission: Admission,
    ) -> None:
        self.settings, self.store, self.broker, self.fetcher = settings, store, broker, fetcher
        self.renderer, self.admission = renderer, admission
        self.live: dict[str, LiveJob] = {}  # the jobs running now (``launch`` to ``finish``)
        self.memory = Memory(DETAILS_KEPT)  # what the page said, or why its analysis failed
        self.closing = False
        self._running = asyncio.Semaphore(settings.max_running_jobs)
        self.on_room: Callable[[], None] | None = None  # issue 18: wakes the lease keeper
        self.webhook = JobWebhook(settings, fetcher)  # AUDIOFETCH_NOTIFY_URL, for server-mode jobs

    def downloads_dir(self) -> Path:
        """Where server-mode jobs save their folders."""
        return self.settings.data_dir / "downloads"

    def launch(
        self, job_id: str, address: str | None = None, *, given: GivenPage | None = None,
        cookies: JobCookies | None = None,
    ) -> None:  # fmt: skip
        """Start a run of the job: its ``LiveJob`` is made here and only here (dropped by ``finish``).

        ``given`` (a page the user's browser sent) is analysed instead of fetching the job's page, and
        its ``cookies`` go with this run's downloads only; neither reaches the store, an event or a log.
        """
        live = self.live[job_id] = LiveJob(job_id, address, given=given, cookies=cookies or None)
        if given is not None:
            self.memory.keep(job_id, sent=True)
        live.task = asyncio.create_task(self._run(live), name=f"job-{job_id}")

    async def _run(self, live: LiveJob) -> None:
        token = job_id_var.set(live.id)
        try:
            job = await self.store.get(live.id)
            if job.status in ("queued", "analyzing") or not job.tracks:
                analysed = await self._analyse(job, live)
                if analysed is None:
                    return
                job = analysed
            live.analysed.set()
            if job.spec.mode == "browser":
                await self._expire_if_unclaimed(live)
            elif self.store.shared and self._running.locked():
                # issue 18: no room here; a node with room claims it (FOR UPDATE SKIP LOCKED)
                await self.store.release_lease(live.id)
                self.let_go(live.id)
            else:
                try:
                    async with self._running:
                        await self._download_to_folder(job, live)
                finally:
                    if self.on_room is not None:
                        self.on_room()  # issue 18: room again, take a job waiting for one
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s failed unexpectedly", live.id)
            message = exc.user_message if isinstance(exc, AudioFetchError) else "an unexpected error happened"
            await self.finish(live.id, "failed", error=message)
        finally:
            live.analysed.set()
            job_id_var.reset(token)

    async def _analyse(self, job: Job, live: LiveJob) -> Job | None:
        """Detect (and for browser mode probe) the tracks; None when the job failed here."""
        await self.set_status(job.id, "analyzing")
        spec = job.spec
        given, live.given = live.given, None
        try:
            owned = self._owned_fetcher(job, live)
            detection, live.fetcher = await analyse_page(
                owned, spec, settings=self.settings, renderer=self.renderer, given=given
            )
        except AudioFetchError as exc:
            self.memory.keep(job.id, failure=without_traceback(exc))
            await self.finish(job.id, "failed", error=exc.user_message)
            return None
        self.memory.keep(job.id, detection=detection, name=spec.name)
        if live.cookies is not None:  # only the tracks' own sites get the user's cookies
            urls = [url for track in detection.tracks for url in (track.url, *track.alternates)]
            live.cookies = live.cookies.only_for(urls) or None
            domains = ", ".join(sorted(live.cookies.domains if live.cookies else ()))
            log.debug("downloads use %d of the cookies sent, for %s", len(live.cookies or ()), domains)
        wanted = set(spec.selected) if spec.selected is not None else None
        before = {t.index: t for t in job.tracks if t.status == "done"}
        # Run again: a track that was done stays shown as done until the new run reaches it.
        tracks = [
            before[t.index] if t.index in before and before[t.index].url == t.url else JobTrack.from_track(t)
            for t in detection.tracks
        ]
        tracks = [t if wanted is None or t.index in wanted else replace(t, status="skipped") for t in tracks]
        chosen = [t for t in detection.tracks if wanted is None or t.index in wanted]
        if spec.mode == "browser":
            page = PageTags.from_detection(detection, name=spec.name)
            probes, page = await probe_page(self.run_for(live, job), chosen, page)
            by_index = {t.index: p for t, p in zip(chosen, probes, strict=True)}
            tracks = [_with_probe(t, by_index.get(t.index)) for t in tracks]
            usable = [(t, p) for t, p in zip(chosen, probes, strict=True) if p.error is None]
            live.ready = ReadyZip([t for t, _ in usable], [p for _, p in usable], page)
        await self.store.set_tracks(job.id, tracks)
        # A server job's name becomes its folder's; a browser job keeps the Name as given (None: the
        # title), so running it again names album and ZIP as the first time (see ``download_stem``).
        name = spec.name
        if spec.mode == "server":
            stem = download_stem(spec.name, detection.title, spec.url)
            root = self.downloads_dir()  # reserved now: two queued jobs of one title must not share it
            name = (await asyncio.to_thread(free_path, root, stem, make_dir=True)).name
        status: JobStatus = "ready" if spec.mode == "browser" else "downloading"
        if live.ready is not None and not live.ready.tracks:
            await self.store.update(job.id, title=detection.title, player=detection.player)
            await self.finish(job.id, "failed", error="none of the tracks could be reached")
            return None
        updated = await self.store.update(
            job.id, title=detection.title, player=detection.player, name=name, status=status
        )
        self.broker.publish(JOB_TRACKS, job.id, updated.to_json())
        self.broker.publish(JOB_STATUS, job.id, {"status": status})
        return updated

    async def _expire_if_unclaimed(self, live: LiveJob) -> None:
        """A ready browser job that nobody opens within ``ready_timeout`` is given up."""
        await asyncio.sleep(self.settings.ready_timeout)
        job = await self.store.get(live.id)
        if job.status == "ready" and live.stream is None:
            await self.finish(live.id, "failed", error="the download was never started in the browser")

    async def _download_to_folder(self, job: Job, live: LiveJob) -> None:
        """The job's tracks into its folder, tagged with what the page said (if it is still known)."""
        kept = self.memory[job.id]
        known = {t.index: t for t in kept.detection.tracks} if kept.detection is not None else {}
        tracks = [
            known.get(t.index) or Track(url=t.url, title=t.title, index=t.index)
            for t in job.tracks
            if t.status != "skipped"
        ]
        if kept.detection is not None:
            page = PageTags.from_detection(kept.detection, name=kept.name)
        else:  # resumed after a restart: saved files are tagged with what the store holds
            page = PageTags(job.title, len(job.tracks))
        relay = ProgressRelay(self.store, self.broker, job.id)
        where = self.downloads_dir() / (job.spec.name or "audio")
        run = self.run_for(live, job, relay.on_event)
        folder = live.folder = FolderDownload(run, tracks, where, page, early=bool(known))
        await self.set_status(job.id, "downloading")
        try:
            report = await folder.download()
        finally:
            live.folder = None
            if not self.closing:
                await relay.close()
        await folder.finish(report)
        if report.status == "completed":
            await self.finish(job.id, "completed")
        else:
            await self.finish(job.id, "failed", error="no track could be downloaded")

    def run_for(self, live: LiveJob, job: Job, on_event: OnEvent | None = None) -> Run:
        """The pipeline's ``Run`` for this job's downloads, progress to ``on_event``."""
        workers = job.spec.workers or self.settings.workers
        return Run(self.fetcher_for(live, job), self.settings, workers, job.spec.url, job.spec.tags, on_event)

    def fetcher_for(self, live: LiveJob, job: Job) -> Fetcher:
        """The fetcher for this job's downloads: with its rendered page's cookies, if it has any, and
        counted against its own, its client's and its address's connection shares (so one client's
        jobs cannot hold every connection)."""
        return (live.fetcher or self._owned_fetcher(job, live)).with_cookies(live.cookies)

    def _owned_fetcher(self, job: Job, live: LiveJob) -> Fetcher:
        return self.fetcher.for_owner(Owner(job.id, groups(job.spec.client_id, live.address)))

    async def set_status(self, job_id: str, status: JobStatus, *, error: str | None = None) -> Job:
        job = await self.store.update(job_id, status=status, error=error)
        self.broker.publish(JOB_STATUS, job_id, {"status": status, "error": error}, owner=job.spec.client_id)
        return job

    async def finish(self, job_id: str, status: JobStatus, *, error: str | None = None) -> Job:
        """End the job: its status stored and published, its ``LiveJob`` dropped (``let_go``)."""
        job = await self.store.update(job_id, status=status, error=error)
        self.broker.publish(JOB_COMPLETED, job_id, job.to_json(), owner=job.spec.client_id)
        self.webhook.job_ended(job)  # server-mode jobs only, in the background
        self.let_go(job_id)
        return job

    async def adopt_ready(self, job: Job) -> Job | None:
        """Issue 18: a ready browser job analysed on another node (its probes are there): analyse and
        probe it again here, for the stream about to open; None when that failed."""
        live = self.live[job.id] = LiveJob(job.id, None)
        analysed = await self._analyse(job, live)
        live.analysed.set()
        return analysed

    def busy(self) -> bool:
        """Whether every run slot for server jobs is taken."""
        return self._running.locked()

    def let_go(self, job_id: str) -> None:
        """Drop the job's ``LiveJob`` (the one place): at its end, or when another node took it over."""
        live = self.live.pop(job_id, None)
        if live is not None:
            live.analysed.set()
            if live.address:
                self.admission.release(live.address, job_id)
            if live.task is not None and live.task is not asyncio.current_task():
                live.task.cancel()  # a finished browser job's task no longer waits for its stream


def _with_probe(track: JobTrack, found: Probe | None) -> JobTrack:
    if found is None:
        return track
    if found.error is not None:
        return replace(track, status="failed", error=found.error)
    return replace(track, size=found.size)


def groups(client_id: str, address: str | None) -> tuple[str, ...]:
    """The connection-share groups of a requester: its client id and its network address."""
    return tuple(group for group in (client_id, f"addr:{address}" if address else "") if group)
