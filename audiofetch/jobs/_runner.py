"""The engine behind the server: analyse pages, download server-mode jobs, stream browser-mode ZIPs.

Every job has one task owned by the runner (cancelled by ``cancel`` or ``close``). State lives in the
``JobStore`` (so it survives restarts) and every change is published on the ``Broker``.

- Server mode: analyse, then download into ``<data>/downloads/<name>/`` (at most ``max_running_jobs``
  at once). After a restart, jobs left running resume: finished files are kept, ``.part`` files resume
  with Range.
- Browser mode: analyse and probe every track (exact sizes and formats), then wait in ``ready`` until
  the ZIP stream is opened; the downloads run while the browser reads. A restart cannot resume a
  browser's download, so such jobs are marked failed with the reason.
- Sent pages (``submit(given=...)``): the browser's DOM and media URLs are analysed instead of a fetch;
  such a job is never shared with another request for the same page, and the cookies the user chose to
  send (restricted to the tracks' own sites once they are known) stay in memory, on the Fetcher of
  that job's downloads only, until the job ends. Neither the document nor the cookies reach the store.
- Render pass (``audiofetch.render``): analysis runs the page's scripts per the job's ``render`` (or
  ``AUDIOFETCH_RENDER``) in the runner's one Renderer; cookies those scripts set for the page's own host
  go with that job's requests only (``Fetcher.for_page``), kept in memory until the job ends.
- Tags and playlist (``_finish``): a finished folder's files are tagged (unless the job says not to)
  and get a playlist; a browser ZIP sends an ID3v2 tag before each MP3 and ends with the playlist.
  What the page said about its tracks (artist, album, artwork, duration) is kept in memory for the
  last ``DETAILS_KEPT`` jobs; a job resumed after a restart is tagged with what the store holds
  (title, number, album from the page title) and no cover.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch.config import Settings
from audiofetch.detect import GivenPage, detect_given
from audiofetch.download import (
    DirectorySink,
    DownloadReport,
    Probe,
    ZipDownload,
    download_all,
    probe_tracks,
)
from audiofetch.errors import (
    AudioFetchError,
    BadRequestError,
    JobActiveError,
    JobError,
    JobLimitError,
    NoAudioError,
    StreamBusyError,
)
from audiofetch.logs import job_id_var
from audiofetch.models import Detection, Track
from audiofetch.naming import UniqueNames, album_name, sanitize_name
from audiofetch.net import Fetcher, JobCookies, Owner, check_url
from audiofetch.render import PageResult, Renderer, detect_rendered

from ._browser import BrowserStream
from ._events import JOB_COMPLETED, JOB_CREATED, JOB_DELETED, JOB_STATUS, JOB_TRACKS, Broker
from ._finish import (
    FrontTags,
    PageTags,
    SavedTrack,
    finish_folder,
    load_covers,
    playlist_entry,
    stream_prefixes,
)
from ._leases import LeaseKeeper, node_name
from ._model import Job, JobSpec, JobStatus, JobTrack, new_job_id
from ._relay import ProgressRelay
from ._sent import SentPages
from ._store_api import JobStoreAPI

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)

DETAILS_KEPT = 200


class JobRunner:
    """Runs jobs; see the module docstring. Build it inside the app's lifetime and ``await start()``."""

    def __init__(
        self,
        settings: Settings,
        store: JobStoreAPI,
        broker: Broker,
        fetcher: Fetcher,
        *,
        renderer: Renderer | None = None,
    ) -> None:
        self._settings, self._store, self._broker, self._fetcher = (
            settings,
            store,
            broker,
            fetcher,
        )
        self._renderer = renderer if renderer is not None else Renderer(settings)
        self._job_fetchers: dict[str, Fetcher] = {}  # a rendered page's cookies: this job only, in memory
        self._addresses: dict[str, str] = {}  # active job -> the address that submitted it (this run)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._analysed: dict[str, asyncio.Event] = {}
        self._failures: dict[str, AudioFetchError] = {}
        self._tracks: dict[str, tuple[list[Track], list[Probe]]] = {}
        self._page_tags: dict[str, PageTags] = {}  # browser jobs between analysis and stream
        # What the page said and the Name the person gave, for tags (the last DETAILS_KEPT jobs).
        self._details: dict[str, tuple[Detection, str | None]] = {}
        self._streams: dict[str, BrowserStream] = {}
        self._cancelling: set[str] = set()
        self._sinks: dict[str, DirectorySink] = {}
        self._by_address: dict[str, set[str]] = {}  # client address -> its active jobs (this run)
        self._sent = SentPages()  # pages and cookies sent from a browser, in memory only
        self._submit_lock = asyncio.Lock()
        self._running = asyncio.Semaphore(settings.max_running_jobs)
        self._closing = False
        self._leases: LeaseKeeper | None = None  # issue 18: a shared store's leases (None: SQLite)

    # -- lifetime -------------------------------------------------------------------------------------

    def downloads_dir(self) -> Path:
        """Where server-mode jobs save their folders."""
        return self._settings.data_dir / "downloads"

    def _spool_root(self) -> Path:
        if self._store.shared:  # issue 18: nodes share the data folder; each spools in its own
            return self._settings.data_dir / "spool" / node_name(self._settings)
        return self._settings.data_dir / "spool"

    async def start(self) -> None:
        """Prepare folders, drop a crashed run's spool, resume or fail the jobs a restart interrupted."""
        self.downloads_dir().mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.rmtree, self._spool_root(), True)
        for job in await self._store.interrupted():
            await self._adopt(job)
        if self._store.shared:  # issue 18 hook: renew this node's leases, take over lapsed jobs
            self._leases = LeaseKeeper(
                self._store, self._settings.lease_seconds / 3, held=lambda: {*self._tasks, *self._streams},
                lost=self._lost, adopt=self._adopt, busy=self._running.locked,
                events=self._broker.subscribe(),  # a job of ours cancelled on another node: stop it now
            )  # fmt: skip
            self._leases.start()

    async def _adopt(self, job: Job) -> None:
        """Resume an interrupted server job; fail a browser one (its browser's stream is gone)."""
        if job.id in self._tasks:  # still running here after a stall: the lease is simply ours again
            return
        if job.spec.mode == "server":
            log.info("resuming job %s (%s)", job.id, job.status)
            self._launch(job.id)
        else:
            reason = "the server restarted while this browser download was in progress; start it again"
            await self._finish(job.id, "failed", error=reason)

    async def _lost(self, job_id: str) -> None:
        """Issue 18 hook: the job ended or went to another node; stop it here, keeping its .part files
        for the node that resumes it."""
        sink = self._sinks.get(job_id)
        if sink is not None:
            sink.keep_partial = True
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Stop every job task; running jobs stay marked active so the next start resumes them."""
        self._closing = True
        if self._leases is not None:
            await self._leases.close()
        for sink in self._sinks.values():
            sink.keep_partial = True  # .part files stay for the resume after restart
        for stream in list(self._streams.values()):
            await stream.close()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._renderer.close()

    def render_unavailable(self) -> str | None:
        """Why the render pass cannot run on this server (for the form), or None when it can."""
        return self._renderer.unavailable

    # -- submitting and following jobs ------------------------------------------------------------------

    async def submit(
        self,
        spec: JobSpec,
        *,
        address: str | None = None,
        given: GivenPage | None = None,
        cookies: JobCookies | None = None,
    ) -> tuple[Job, bool]:
        """Create a job, or return the active one for the same page and mode (``True`` = duplicate).

        With ``given`` (a page as the user's browser showed it) the job analyses that instead of
        fetching ``spec.url``, is always new (browser mode only), and downloads with ``cookies``.

        Raises BlockedURLError for URLs the guard refuses outright, BadRequestError for other bad input,
        JobLimitError (with ``retry_after``) when the limits are reached: overall, per client id (counted
        in the store's transaction) and per network ``address`` (so a browser that drops its cookie to
        get a new client id is still bounded; the address is kept in memory only).
        """
        parts = urlsplit(spec.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequestError("the address must be a web address starting with http:// or https://")
        check_url(spec.url, self._settings.allow_networks)
        if given is not None and spec.mode != "browser":
            raise BadRequestError("a page sent from the browser is downloaded in browser mode only")
        async with self._submit_lock:
            mine = self._by_address.setdefault(address, set()) if address else set()
            if address and len(mine) >= self._settings.max_jobs_per_address:
                existing = await self._store.find_active(spec.url, spec.mode, client_id=spec.client_id)
                if existing is not None:
                    return existing, True
                raise JobLimitError(
                    f"{len(mine)} jobs from your address are running; wait for one to finish",
                    retry_after=10,
                )
            job, created = await self._store.create_or_find_active(
                spec,
                max_active=self._settings.max_active_jobs,
                max_per_client=self._settings.max_jobs_per_client,
                shared=given is None,
                # issue 18 hook: on a shared store the address is counted over every node's jobs too
                address=address if self._store.shared else None,
                max_per_address=self._settings.max_jobs_per_address,
            )
            if created and address:
                mine.add(job.id)
                self._addresses[job.id] = address
        if not created:
            return job, True
        if given is not None:
            self._sent.add(job.id, given, cookies)
        self._broker.publish(JOB_CREATED, job.id, job.to_json(), owner=job.spec.client_id)
        self._launch(job.id)
        return job, False

    async def analyse(self, job_id: str) -> Job:
        """Wait until the page is analysed; re-raise the analysis error (NoAudioError, FetchError...)."""
        event = self._analysed.get(job_id)
        if event is not None:
            await event.wait()
        failure = self._failures.get(job_id)
        if failure is not None:
            raise _without_traceback(failure)  # a fresh one: raising the kept one would attach a traceback
        return await self._store.get(job_id)

    async def _claim_address(self, address: str, token: str) -> None:
        """Count ``token`` (a job or a preview) against ``address``'s limit; JobLimitError when full."""
        async with self._submit_lock:
            mine = self._by_address.setdefault(address, set())
            if len(mine) >= self._settings.max_jobs_per_address:
                raise JobLimitError(
                    f"{len(mine)} jobs or previews from your address are running; wait for one",
                    retry_after=10,
                )
            mine.add(token)

    async def preview(
        self,
        url: str,
        *,
        plugin: str = "auto",
        prefer: Sequence[str] = (),
        render: str | None = None,
        client_id: str = "",
        address: str | None = None,
    ) -> Detection:
        """The tracks of ``url`` without creating a job (``render`` None: the server's setting).

        A preview may run the page in the browser, so while it runs it counts against the network
        ``address``'s job limit like a job does (JobLimitError when the address is at its limit), and
        its requests count against the client's and the address's connection shares.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequestError("the address must be a web address starting with http:// or https://")
        check_url(url, self._settings.allow_networks)
        token = f"preview:{new_job_id()}"
        if address:
            await self._claim_address(address, token)
        try:
            fetcher = self._fetcher.for_owner(Owner(None, _groups(client_id, address)))
            found = await self._detect(fetcher, url, plugin=plugin, prefer=prefer, render=render)
        finally:
            if address:
                self._by_address.get(address, set()).discard(token)
        return found.detection

    async def _detect(
        self, fetcher: Fetcher, url: str, *, plugin: str, prefer: Sequence[str], render: str | None
    ) -> PageResult:
        return await detect_rendered(
            fetcher, url, settings=self._settings, renderer=self._renderer,
            mode=render or self._settings.render, plugin=plugin, prefer=prefer,
        )  # fmt: skip

    def sent_cookie_domains(self, job_id: str) -> frozenset[str]:
        """Domains of the cookies a sent page's job downloads with now (empty for other jobs, and
        once the job has ended: the cookies end with it)."""
        return self._sent.cookie_domains(job_id)

    async def cancel(self, job_id: str) -> Job:
        """Stop the job (its downloads and stream); a finished job is returned unchanged."""
        job = await self._store.get(job_id)
        if not job.active:
            return job
        self._cancelling.add(job_id)
        try:
            stream = self._streams.get(job_id)
            if stream is not None:
                await stream.close()
            task = self._tasks.get(job_id)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            return await self._finish(job_id, "cancelled", error="cancelled")
        finally:
            self._cancelling.discard(job_id)

    async def retry_failed(self, job_id: str, *, address: str | None = None) -> Job:
        """Fetch the failed tracks again, in the same job.

        Server mode fetches only them into the folder. Browser mode keeps nothing on the server, so the
        job runs again (``again``): its new ZIP holds every track, under the same name, and it counts
        against the per-``address`` limit like a new job.
        """
        job = await self._store.get(job_id)
        if job.active:
            raise JobActiveError("the job is still running; retry when it has finished")
        failed = tuple(t.index for t in job.tracks if t.status == "failed")
        if not failed:
            raise BadRequestError("the job has no failed tracks to retry")
        if job_id in self._sent:
            raise BadRequestError("this page was sent from the browser: send it again from the extension")
        if job.spec.mode == "browser":
            return await self.again(job_id, address=address)
        tracks = [replace(t, status="pending", error=None) if t.status == "failed" else t for t in job.tracks]
        await self._store.set_tracks(job_id, tracks)
        job = await self._set_status(job_id, "downloading", error=None)
        self._launch(job_id)
        return job

    async def again(self, job_id: str, *, address: str | None = None) -> Job:
        """Run a finished job once more from the page: "Download again", "Start again".

        For a browser-mode job (a new ZIP stream, same name; the tracks that were done show as done
        until the new stream reaches them) and for a server job that never got its tracks (failed while
        reading the page). Raises JobActiveError while it runs, BadRequestError for other jobs, and
        JobLimitError when as many jobs run as the limits allow (a job run again counts as a new one,
        per ``address`` too).
        """
        job = await self._store.get(job_id)
        if job.active:
            raise JobActiveError("the job is still running")
        if job.spec.mode == "server" and job.tracks:
            raise BadRequestError("this job saved its tracks on the server; retry its failed tracks instead")
        if job_id in self._sent:
            raise BadRequestError("this page was sent from the browser: send it again from the extension")
        if await self._store.count_active() >= self._settings.max_active_jobs:
            raise JobLimitError("AudioFetch is busy with other jobs; try again shortly", retry_after=30)
        client = job.spec.client_id
        if client and await self._store.count_active(client) >= self._settings.max_jobs_per_client:
            raise JobLimitError("you have too many jobs running; wait for one to finish", retry_after=10)
        if address:
            await self._claim_address(address, job_id)
            self._addresses[job_id] = address
        previous = self._tasks.get(job_id)
        if previous is not None:  # a finished browser job's task may still wait out ready_timeout
            previous.cancel()
            await asyncio.gather(previous, return_exceptions=True)
        for cache in (self._failures, self._tracks, self._page_tags):
            cache.pop(job_id, None)
        self._analysed.pop(job_id, None)
        job = await self._set_status(job_id, "queued", error=None)
        self._launch(job_id)
        return job

    async def busy_folders(self) -> frozenset[str]:
        """Names of the download folders a server job is writing now (downloading, tagging)."""
        return frozenset(
            job.spec.name
            for job in await self._store.active()
            if job.spec.mode == "server" and job.status == "downloading" and job.spec.name
        )

    async def delete(self, job_id: str) -> None:
        """Forget a finished job (its saved files stay; delete those from the downloads list)."""
        job = await self._store.get(job_id)
        if job.active:
            raise JobActiveError("the job is still running; cancel it first")
        await self._store.delete(job_id)
        for cache in (
            self._analysed,
            self._failures,
            self._tracks,
            self._page_tags,
            self._details,
        ):
            cache.pop(job_id, None)
        self._sent.forget(job_id)
        self._broker.publish(JOB_DELETED, job_id, {"id": job_id})

    async def open_stream(self, job_id: str) -> BrowserStream:
        """The ZIP of a ready browser-mode job, for exactly one consumer; downloads start now."""
        job = await self.analyse(job_id)
        if job.spec.mode != "browser":
            raise JobError("this job saves on the server; download its folder from the server downloads")
        if job_id in self._streams:
            raise StreamBusyError("this download is already being received in another window or tab")
        if job.status == "ready" and job_id not in self._tracks and self._store.shared:
            # issue 18 hook: analysed on another node; its probes are there, so probe here again
            job = await self._analyse(job) or job
        if job.status != "ready" or job_id not in self._tracks:
            raise JobError(f"this download can no longer be streamed (it is {job.status}); start it again")
        tracks, probes = self._tracks[job_id]
        page = self._page_tags.get(job_id) or PageTags(job.title, len(job.tracks))
        names = ZipDownload.entry_names(tracks, probes)
        saved = [SavedTrack(track, name) for track, name in zip(tracks, names, strict=True)]
        relay = ProgressRelay(self._store, self._broker, job_id)
        download = ZipDownload(
            self._fetcher_for(job), tracks, probes, spool=self._spool_root() / job_id,
            settings=self._settings,
            workers=job.spec.workers or self._settings.workers, referer=job.spec.url, on_event=relay.on_event,
            prefixes=stream_prefixes(tracks, probes, page, tag=job.spec.tags),
            extra_entries=[playlist_entry(saved, page, numbered_total=len(tracks))],
        )  # fmt: skip

        async def on_close(finished: ZipDownload) -> None:
            self._streams.pop(job_id, None)
            await relay.close()
            report = finished.report
            if job_id in self._cancelling or self._closing:
                return
            if finished.stall_reason is not None:
                await self._finish(job_id, "failed", error=finished.stall_reason)
            elif finished.finished and report is not None and report.succeeded:
                await self._finish(job_id, "completed")
            elif finished.finished:
                await self._finish(job_id, "failed", error="no track could be downloaded")
            elif (await self._store.get(job_id)).active:
                await self._finish(
                    job_id,
                    "failed",
                    error="the download was interrupted before the ZIP was complete",
                )

        stream = BrowserStream(
            f"{_download_stem(job.spec.name, job.title, job.spec.url)}.zip", download, on_close
        )
        self._streams[job_id] = stream
        try:
            await download.start()
            await self._set_status(job_id, "downloading")
        except BaseException:
            await stream.close()
            raise
        return stream

    # -- the job task -----------------------------------------------------------------------------------

    def _launch(self, job_id: str) -> None:
        self._analysed.setdefault(job_id, asyncio.Event())
        task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda done: self._forget_task(job_id, done))

    def _forget_task(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:  # a job run again has a new task under the same id
            del self._tasks[job_id]

    async def _run(self, job_id: str) -> None:
        token = job_id_var.set(job_id)
        try:
            job = await self._store.get(job_id)
            if job.status in ("queued", "analyzing") or not job.tracks:
                analysed = await self._analyse(job)
                self._analysed[job_id].set()
                if analysed is None:
                    return
                job = analysed
            self._analysed[job_id].set()
            if job.spec.mode == "browser":
                await self._expire_if_unclaimed(job_id)
            else:
                if self._leases is not None and self._running.locked():
                    # issue 18 hook: no room here; a node with room claims it (FOR UPDATE SKIP LOCKED)
                    await self._store.release_lease(job_id)
                    return
                try:
                    async with self._running:
                        await self._download_to_folder(job)
                finally:
                    if self._leases is not None:
                        self._leases.wake()  # room again: take a job waiting for one
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            message = exc.user_message if isinstance(exc, AudioFetchError) else "an unexpected error happened"
            await self._finish(job_id, "failed", error=message)
        finally:
            if job_id in self._analysed:
                self._analysed[job_id].set()
            job_id_var.reset(token)

    async def _analyse(self, job: Job) -> Job | None:
        """Detect (and for browser mode probe) the tracks; None when the job failed here."""
        await self._set_status(job.id, "analyzing")
        spec = job.spec
        given = self._sent.take_page(job.id)
        try:
            owned = self._owned_fetcher(job)
            if given is not None:
                detection = await detect_given(
                    owned, given, settings=self._settings, plugin=spec.plugin or "auto",
                    prefer=spec.prefer,
                )  # fmt: skip
            else:
                found = await self._detect(
                    owned,
                    spec.url,
                    plugin=spec.plugin or "auto",
                    prefer=spec.prefer,
                    render=spec.render,
                )
                detection = found.detection
                if found.cookie:  # set by the page's scripts: handed to this job's downloads only
                    self._job_fetchers[job.id] = owned.for_page(detection.page_url, found.cookie)
            if not detection.tracks:
                raise NoAudioError("the page only has live streams, which cannot be downloaded")
        except AudioFetchError as exc:
            self._failures[job.id] = _without_traceback(exc)
            await self._finish(job.id, "failed", error=exc.user_message)
            return None
        self._remember(job.id, detection, spec.name)
        urls = [url for track in detection.tracks for url in (track.url, *track.alternates)]
        self._sent.keep_cookies_for(job.id, urls)  # only the tracks' own sites get the user's cookies
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
            probes = await probe_tracks(
                self._fetcher_for(job),
                chosen,
                referer=spec.url,
                workers=spec.workers or self._settings.workers,
                deadline=self._settings.probe_deadline,
            )
            by_index = {t.index: p for t, p in zip(chosen, probes, strict=True)}
            tracks = [self._with_probe(t, by_index.get(t.index)) for t in tracks]
            usable = [(t, p) for t, p in zip(chosen, probes, strict=True) if p.error is None]
            self._tracks[job.id] = ([t for t, _ in usable], [p for _, p in usable])
            page = PageTags.from_detection(detection, name=spec.name)
            if spec.tags and any(p.ext == "mp3" for _, p in usable):  # only MP3s are tagged while streaming
                page = await load_covers(
                    self._fetcher_for(job),
                    page,
                    [t for t, _ in usable],
                    referer=spec.url,
                )
            self._page_tags[job.id] = page
        await self._store.set_tracks(job.id, tracks)
        # A server job's name becomes its folder's; a browser job keeps the Name as given (None: the
        # title), so running it again names album and ZIP as the first time (see ``_download_stem``).
        name = spec.name
        if spec.mode == "server":
            name = await asyncio.to_thread(
                self._free_folder_name, _download_stem(spec.name, detection.title, spec.url)
            )
        status: JobStatus = "ready" if spec.mode == "browser" else "downloading"
        if spec.mode == "browser" and not self._tracks[job.id][0]:
            await self._store.update(job.id, title=detection.title, player=detection.player)
            await self._finish(job.id, "failed", error="none of the tracks could be reached")
            return None
        updated = await self._store.update(
            job.id,
            title=detection.title,
            player=detection.player,
            name=name,
            status=status,
        )
        self._broker.publish(JOB_TRACKS, job.id, updated.to_json())
        self._broker.publish(JOB_STATUS, job.id, {"status": status})
        return updated

    def _remember(self, job_id: str, detection: Detection, name: str | None) -> None:
        self._details.pop(job_id, None)
        self._details[job_id] = (detection, name)
        while len(self._details) > DETAILS_KEPT:
            del self._details[next(iter(self._details))]

    @staticmethod
    def _with_probe(track: JobTrack, probe: Probe | None) -> JobTrack:
        if probe is None:
            return track
        if probe.error is not None:
            return replace(track, status="failed", error=probe.error)
        return replace(track, size=probe.size)

    def _free_folder_name(self, name: str) -> str:
        """A folder name no other job uses, reserved by creating the folder (two queued jobs with the
        same title must not share a folder: the second would take the first one's files as its own)."""
        names = UniqueNames()
        root = self.downloads_dir()
        root.mkdir(parents=True, exist_ok=True)
        for entry in root.iterdir():
            names.claim(entry.name)
        while True:
            candidate = names.claim(name)
            try:
                (root / candidate).mkdir()
            except FileExistsError:
                continue
            return candidate

    async def _expire_if_unclaimed(self, job_id: str) -> None:
        """A ready browser job that nobody opens within ``ready_timeout`` is given up."""
        await asyncio.sleep(self._settings.ready_timeout)
        job = await self._store.get(job_id)
        if job.status == "ready" and job_id not in self._streams:
            self._tracks.pop(job_id, None)
            self._page_tags.pop(job_id, None)
            await self._finish(job_id, "failed", error="the download was never started in the browser")

    async def _download_to_folder(self, job: Job) -> None:
        wanted = [t for t in job.tracks if t.status != "skipped"]
        tracks = [Track(url=t.url, title=t.title, index=t.index) for t in wanted]
        relay = ProgressRelay(self._store, self._broker, job.id)
        front = self._front_tags(job, tracks)
        folder = self.downloads_dir() / (job.spec.name or "audio")
        sink = self._sinks[job.id] = DirectorySink(folder, edit_head=front)
        await self._set_status(job.id, "downloading")
        try:
            report = await download_all(
                self._fetcher_for(job), tracks, sink, workers=job.spec.workers or self._settings.workers,
                settings=self._settings, referer=job.spec.url, on_event=relay.on_event,
            )  # fmt: skip
        except BaseException:
            if front is not None:
                front.close()
            raise
        finally:
            self._sinks.pop(job.id, None)
            if not self._closing:
                await relay.close()
        await self._finish_folder(job, sink, report, numbered=len(tracks), front=front)
        if report.status == "completed":
            await self._finish(job.id, "completed")
        else:
            await self._finish(job.id, "failed", error="no track could be downloaded")

    def _front_tags(self, job: Job, tracks: list[Track]) -> FrontTags | None:
        """MP3s get their tags while they download (covers fetched meanwhile); None when tags are off
        or the page's details are gone (a job resumed after a restart: its saved files are tagged)."""
        details = self._details.get(job.id)
        if not job.spec.tags or details is None:
            return None
        detection, given = details
        known = {t.index: t for t in detection.tracks}
        full = [known.get(t.index) or t for t in tracks]
        page = PageTags.from_detection(detection, name=given)
        return FrontTags(full, page, load_covers(self._fetcher_for(job), page, full, referer=job.spec.url))

    async def _finish_folder(
        self, job: Job, sink: DirectorySink, report: DownloadReport, *, numbered: int, front: FrontTags | None
    ) -> None:
        """Tag the saved files and write the playlist; a failure here is logged, never the job's."""
        detection, given = self._details.get(job.id) or (None, None)
        known = {t.index: t for t in detection.tracks} if detection is not None else {}
        saved = [
            SavedTrack(
                known.get(r.index) or Track(url=r.url, title=r.title, index=r.index),
                r.filename,
            )
            for r in report.results
            if r.ok and r.filename
        ]
        if detection is not None:
            page = PageTags.from_detection(detection, name=given)
        else:
            page = PageTags(job.title, len(job.tracks))
        done = front.done if front is not None else set()
        tagged = {r.filename for pos, r in enumerate(report.results) if pos in done and r.filename}
        try:
            if front is not None:
                page = await front.page()
            await finish_folder(
                self._fetcher_for(job), sink.folder, saved, page, tag=job.spec.tags, referer=job.spec.url,
                numbered_total=numbered, tagged=tagged,
            )  # fmt: skip
        except Exception:
            log.exception("tagging or the playlist failed for job %s", job.id)
        finally:
            if front is not None:
                front.close()

    def _fetcher_for(self, job: Job) -> Fetcher:
        """The fetcher for this job's downloads: with its rendered page's cookies, if it has any, and
        counted against its own, its client's and its address's connection shares (so one client's
        jobs cannot hold every connection)."""
        return self._sent.fetcher(job.id, self._job_fetchers.get(job.id) or self._owned_fetcher(job))

    def _owned_fetcher(self, job: Job) -> Fetcher:
        owner = Owner(job.id, _groups(job.spec.client_id, self._addresses.get(job.id)))
        return self._fetcher.for_owner(owner)

    # -- status changes ---------------------------------------------------------------------------------

    async def _set_status(self, job_id: str, status: JobStatus, *, error: str | None = None) -> Job:
        job = await self._store.update(job_id, status=status, error=error)
        self._broker.publish(JOB_STATUS, job_id, {"status": status, "error": error}, owner=job.spec.client_id)
        return job

    async def _finish(self, job_id: str, status: JobStatus, *, error: str | None = None) -> Job:
        job = await self._store.update(job_id, status=status, error=error)
        self._broker.publish(JOB_COMPLETED, job_id, job.to_json(), owner=job.spec.client_id)
        self._tracks.pop(job_id, None)
        self._page_tags.pop(job_id, None)
        self._sent.end(job_id)  # the user's cookies end with the job
        self._job_fetchers.pop(job_id, None)
        for jobs in self._by_address.values():
            jobs.discard(job_id)
        self._addresses.pop(job_id, None)
        return job


def _download_stem(name: str | None, title: str | None, url: str) -> str:
    """The folder or ZIP name: the Name given (without a ``.zip``), else the page title, else the host."""
    chosen = album_name(name) or title or urlsplit(url).hostname or "audio"
    return sanitize_name(chosen, fallback="audio")


def _groups(client_id: str, address: str | None) -> tuple[str, ...]:
    """The connection-share groups of a requester: its client id and its network address."""
    return tuple(group for group in (client_id, f"addr:{address}" if address else "") if group)


def _without_traceback(exc: AudioFetchError) -> AudioFetchError:
    """A copy of ``exc`` with its message and fields but no traceback, cause or context: those hold
    the frames of the analysis, and so the page and its parsed tree, for as long as the job is kept."""
    clone = type(exc).__new__(type(exc), *exc.args)
    clone.args = exc.args
    clone.__dict__.update(exc.__dict__)
    return clone
