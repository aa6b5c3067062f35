"""The server's jobs: analyse pages, download server-mode jobs, stream browser-mode ZIPs (``JobRunner``
is the API; each run is the pipeline's stages in ``_engine``). State lives in the ``JobStore`` (so it
survives restarts) and every change is published on the ``Broker``.

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
- Tags and playlist (``_finish``): what the page said about its tracks is kept in memory for the last
  ``DETAILS_KEPT`` jobs; a job resumed after a restart is tagged with what the store holds, no cover.
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
from audiofetch.detect import GivenPage
from audiofetch.download import ZipDownload
from audiofetch.errors import BadRequestError, JobActiveError, JobError, StreamBusyError
from audiofetch.models import Detection
from audiofetch.net import Fetcher, JobCookies, Owner, check_url
from audiofetch.render import Renderer, detect_rendered

from ._admission import Admission
from ._engine import BrowserStream, JobEngine, groups, without_traceback
from ._events import JOB_CREATED, JOB_DELETED, Broker
from ._leases import LeaseKeeper, node_name
from ._model import Job, JobSpec, new_job_id
from ._pipeline import download_stem, zip_download
from ._relay import ProgressRelay
from ._store_api import JobStoreAPI

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


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
        self._settings, self._store, self._broker, self._fetcher = settings, store, broker, fetcher
        self._renderer = renderer if renderer is not None else Renderer(settings)
        self._admission = Admission(settings, store)
        self._engine = JobEngine(settings, store, broker, fetcher, self._renderer, self._admission)
        self._spool = settings.data_dir / "spool"  # what browser-mode ZIPs hold for their readers
        if store.shared:  # issue 18: nodes share the data folder; each spools in its own
            self._spool = self._spool / node_name(settings)
        self._leases: LeaseKeeper | None = None  # issue 18: a shared store's leases (None: SQLite)

    # -- lifetime -------------------------------------------------------------------------------------

    def downloads_dir(self) -> Path:
        """Where server-mode jobs save their folders."""
        return self._engine.downloads_dir()

    async def start(self) -> None:
        """Prepare folders, drop a crashed run's spool, resume or fail the jobs a restart interrupted."""
        self.downloads_dir().mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.rmtree, self._spool, True)
        for job in await self._store.interrupted():
            await self._adopt(job)
        if self._store.shared:  # issue 18 hook: renew this node's leases, take over lapsed jobs
            self._leases = LeaseKeeper(
                self._store, self._settings.lease_seconds / 3, held=lambda: set(self._engine.live),
                lost=self._lost, adopt=self._adopt, busy=self._engine.busy,
                events=self._broker.subscribe(),  # a job of ours cancelled on another node: stop it now
            )  # fmt: skip
            self._engine.on_room = self._leases.wake
            self._leases.start()

    async def _adopt(self, job: Job) -> None:
        """Resume an interrupted server job; fail a browser one (its browser's stream is gone)."""
        if job.id in self._engine.live:  # still running here after a stall: the lease is simply ours again
            return
        if job.spec.mode == "server":
            log.info("resuming job %s (%s)", job.id, job.status)
            self._engine.launch(job.id)
        else:
            reason = "the server restarted while this browser download was in progress; start it again"
            await self._engine.finish(job.id, "failed", error=reason)

    async def _lost(self, job_id: str) -> None:
        """Issue 18 hook: the job ended or went to another node; stop it here, keeping its .part files
        for the node that resumes it."""
        live = self._engine.live.get(job_id)
        if live is None:
            return
        if live.folder is not None:
            live.folder.sink.keep_partial = True
        task = live.task
        self._engine.let_go(job_id)  # cancels the task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Stop every job task; running jobs stay marked active so the next start resumes them."""
        self._engine.closing = True
        if self._leases is not None:
            await self._leases.close()
        lives = list(self._engine.live.values())
        for live in lives:
            if live.folder is not None:
                live.folder.sink.keep_partial = True  # .part files stay for the resume after restart
            if live.stream is not None:
                await live.stream.close()
        tasks = [live.task for live in lives if live.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._engine.webhook.close()
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
        self._check_url(spec.url)
        if given is not None and spec.mode != "browser":
            raise BadRequestError("a page sent from the browser is downloaded in browser mode only")
        job, created = await self._admission.admit(spec, address=address, shared=given is None)
        if not created:
            return job, True
        self._broker.publish(JOB_CREATED, job.id, job.to_json(), owner=job.spec.client_id)
        self._engine.launch(job.id, address, given=given, cookies=cookies)
        return job, False

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequestError(
                "the address must be a web address starting with http:// or https://", field="url"
            )
        check_url(url, self._settings.allow_networks)

    async def analyse(self, job_id: str) -> Job:
        """Wait until the page is analysed; re-raise the analysis error (NoAudioError, FetchError...)."""
        live = self._engine.live.get(job_id)
        if live is not None:
            await live.analysed.wait()
        failure = self._engine.memory[job_id].failure
        if failure is not None:
            raise without_traceback(failure)  # a fresh one: raising the kept one would attach a traceback
        return await self._store.get(job_id)

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
        self._check_url(url)
        token = f"preview:{new_job_id()}"
        if address:
            await self._admission.claim(address, token)
        try:
            fetcher = self._fetcher.for_owner(Owner(None, groups(client_id, address)))
            found = await detect_rendered(
                fetcher, url, settings=self._settings, renderer=self._renderer,
                mode=render or self._settings.render, plugin=plugin, prefer=prefer,
            )  # fmt: skip
        finally:
            if address:
                self._admission.release(address, token)
        return found.detection

    def sent_cookie_domains(self, job_id: str) -> frozenset[str]:
        """Domains of the cookies a sent page's job downloads with now (empty for other jobs, and
        once the job has ended: the cookies end with it)."""
        live = self._engine.live.get(job_id)
        return live.cookies.domains if live is not None and live.cookies else frozenset()

    async def cancel(self, job_id: str) -> Job:
        """Stop the job (its downloads and stream); a finished job is returned unchanged."""
        job = await self._store.get(job_id)
        if not job.active:
            return job
        live = self._engine.live.get(job_id)
        if live is not None:
            live.cancelling = True
            if live.stream is not None:
                await live.stream.close()
            if live.task is not None:
                live.task.cancel()
                await asyncio.gather(live.task, return_exceptions=True)
        return await self._engine.finish(job_id, "cancelled", error="cancelled")

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
        if self._engine.memory[job_id].sent:
            raise BadRequestError("this page was sent from the browser: send it again from the extension")
        if job.spec.mode == "browser":
            return await self.again(job_id, address=address)
        tracks = [replace(t, status="pending", error=None) if t.status == "failed" else t for t in job.tracks]
        await self._store.set_tracks(job_id, tracks)
        job = await self._engine.set_status(job_id, "downloading", error=None)
        self._engine.launch(job_id)
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
        if self._engine.memory[job_id].sent:
            raise BadRequestError("this page was sent from the browser: send it again from the extension")
        await self._admission.admit_again(job, address=address)
        self._engine.memory.pop(job_id, None)
        job = await self._engine.set_status(job_id, "queued", error=None)
        self._engine.launch(job_id, address)
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
        self._engine.memory.pop(job_id, None)
        self._broker.publish(JOB_DELETED, job_id, {"id": job_id})

    async def open_stream(self, job_id: str) -> BrowserStream:
        """The ZIP of a ready browser-mode job, for exactly one consumer; downloads start now."""
        job = await self.analyse(job_id)
        if job.spec.mode != "browser":
            raise JobError("this job saves on the server; download its folder from the server downloads")
        live = self._engine.live.get(job_id)
        if live is not None and live.stream is not None:
            raise StreamBusyError("this download is already being received in another window or tab")
        if job.status == "ready" and live is None and self._store.shared:
            # issue 18 hook: analysed on another node; its probes are there, so probe here again
            job = await self._engine.adopt_ready(job) or job
            live = self._engine.live.get(job_id)
        if job.status != "ready" or live is None or live.ready is None:
            raise JobError(f"this download can no longer be streamed (it is {job.status}); start it again")
        ready = live.ready
        relay = ProgressRelay(self._store, self._broker, job_id)
        run = self._engine.run_for(live, job, relay.on_event)
        spool = self._spool / job_id
        download = zip_download(run, ready.tracks, ready.probes, ready.page, spool=spool, exact=True)

        async def on_close(finished: ZipDownload) -> None:
            live.stream = None
            await relay.close()
            report = finished.report
            if live.cancelling or self._engine.closing:
                return
            if finished.stall_reason is not None:
                await self._engine.finish(job_id, "failed", error=finished.stall_reason)
            elif finished.finished and report is not None and report.succeeded:
                await self._engine.finish(job_id, "completed")
            elif finished.finished:
                await self._engine.finish(job_id, "failed", error="no track could be downloaded")
            elif (await self._store.get(job_id)).active:
                await self._engine.finish(
                    job_id,
                    "failed",
                    error="the download was interrupted before the ZIP was complete",
                )

        stem = download_stem(job.spec.name, job.title, job.spec.url)
        stream = live.stream = BrowserStream(f"{stem}.zip", download, on_close)
        try:
            await download.start()
            await self._engine.set_status(job_id, "downloading")
        except BaseException:
            await stream.close()
            raise
        return stream
