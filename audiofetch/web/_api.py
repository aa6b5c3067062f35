"""JSON routes: submit, inspect, cancel, retry and delete jobs; stream a browser-mode ZIP; preview a page.

Handlers read through the contract's models (``_contract``) and call the functions they share with the
pages (``_actions``); every error they let through is turned into a status by
``_middlewares.ERROR_STATUSES``. Mutating someone else's job needs the admin; a job id
alone is enough to read a job or open its stream (it is unguessable and only its creator learns it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from aiohttp import web

from audiofetch.jobs import Job, folder_entries
from audiofetch.web._actions import (
    change_job,
    download_folders,
    folder_is_free,
    preview_page,
    remove_download_folder,
    start_job,
    visible_jobs,
)
from audiofetch.web._contract import JOB_LIST_QUERY, detection_json, job_answer
from audiofetch.web._keys import RUNNER_KEY, STORE_KEY, ZipStreamSource
from audiofetch.web._login import read_body, require_admin
from audiofetch.web._paths import local_url
from audiofetch.web.zipresponse import send_zip

__all__ = ["setup_api"]

log = logging.getLogger(__name__)


async def create_job(request: web.Request) -> web.Response:
    """``POST /api/download``: start a job (server mode needs the admin); 202 with the job."""
    job, duplicate = await start_job(request, await read_body(request))
    response = job_answer(job, status=202, duplicate=duplicate)
    response.headers["Location"] = local_url(request, f"/api/status/{job.id}")
    return response


async def job_status(request: web.Request) -> web.Response:
    """``GET /api/status/{id}``: one job."""
    return job_answer(await request.app[STORE_KEY].get(request.match_info["id"]))


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /api/jobs``: newest first; the admin sees every job, a visitor its own."""
    query = JOB_LIST_QUERY.read(request.query)
    jobs = await visible_jobs(request, limit=query["limit"], offset=query["offset"])
    return web.json_response({"jobs": [job.to_json() for job in jobs]})


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE /api/jobs/{id}``: a finished job (409 while active)."""
    job_id = request.match_info["id"]
    await change_job(request, job_id, "delete")
    return web.json_response({"id": job_id, "deleted": True})


async def cancel_job(request: web.Request) -> web.Response:
    """``POST /api/jobs/{id}/cancel``."""
    return job_answer(await _changed(request, "cancel"))


async def retry_job(request: web.Request) -> web.Response:
    """``POST /api/jobs/{id}/retry``: fetch the failed tracks again."""
    return job_answer(await _changed(request, "retry"))


async def _changed(request: web.Request, action: Literal["cancel", "retry"]) -> Job:
    job = await change_job(request, request.match_info["id"], action)
    assert job is not None  # only a deletion leaves none
    return job


async def _stream_job(request: web.Request, job_id: str) -> web.StreamResponse:
    """Open the job's archive (errors still become JSON) and stream it; closing stops the downloads."""
    stream = await request.app[RUNNER_KEY].open_stream(job_id)
    dropper = asyncio.create_task(_drop_when_stalled(request, stream))
    try:
        return await send_zip(request, stream.entries, filename=stream.filename)
    finally:
        dropper.cancel()
        await stream.close()


async def _drop_when_stalled(request: web.Request, stream: ZipStreamSource) -> None:
    """End the response of a reader too slow for too long: its browser sees a failed download (the
    job says why), and the downloads and the spool it held stop with it."""
    await stream.stalled()
    log.warning("dropped a ZIP reader too slow for too long (%s)", request.remote)
    if request.transport is not None:
        request.transport.abort()


async def stream_job(request: web.Request) -> web.StreamResponse:
    """``GET /api/stream/{id}``: the browser-mode ZIP, downloaded while it is sent."""
    return await _stream_job(request, request.match_info["id"])


async def zip_page(request: web.Request) -> web.StreamResponse:
    """``GET /zip?url=PAGE``: analyse the page and stream its ZIP in the same response."""
    job, _ = await start_job(request, {**request.query, "mode": "browser"})
    await request.app[RUNNER_KEY].analyse(job.id)
    return await _stream_job(request, job.id)


async def preview(request: web.Request) -> web.Response:
    """``GET /api/preview?url=&plugin=``: the tracks a job would fetch, without starting one."""
    return web.json_response(detection_json(await preview_page(request, request.query)))


# -- the admin's server-mode download folders ---------------------------------------------------------


async def list_download_folders(request: web.Request) -> web.Response:
    """``GET /api/downloads``: the folders in ``<data_dir>/downloads`` (admin)."""
    folders = await download_folders(request)
    return web.json_response({"downloads": [{**folder.to_json(), "busy": busy} for folder, busy in folders]})


async def delete_download_folder(request: web.Request) -> web.Response:
    """``DELETE /api/downloads/{name}`` (admin); ``?force=1`` even while a job writes it."""
    name = request.match_info["name"]
    await remove_download_folder(request, name, force=request.query.get("force") == "1")
    return web.json_response({"name": name, "deleted": True})


async def download_folder_zip(request: web.Request) -> web.StreamResponse:
    """``GET /api/downloads/{name}/zip``: the folder as a streamed ZIP (admin)."""
    await require_admin(request)
    name = request.match_info["name"]
    await folder_is_free(request, name, force=request.query.get("force") == "1")
    entries = await folder_entries(request.app[RUNNER_KEY].downloads_dir(), name)
    return await send_zip(request, entries, filename=f"{name}.zip")


def setup_api(app: web.Application) -> None:
    """Register the job routes and the admin's download-folder routes."""
    router = app.router
    router.add_post("/api/download", create_job, name="api.download")
    router.add_get("/api/status/{id}", job_status, name="api.status")
    router.add_get("/api/jobs", list_jobs, name="api.jobs")
    router.add_delete("/api/jobs/{id}", delete_job, name="api.jobs.delete")
    router.add_post("/api/jobs/{id}/cancel", cancel_job, name="api.jobs.cancel")
    router.add_post("/api/jobs/{id}/retry", retry_job, name="api.jobs.retry")
    router.add_get("/api/stream/{id}", stream_job, name="api.stream", allow_head=False)
    router.add_get("/zip", zip_page, name="zip", allow_head=False)
    router.add_get("/api/preview", preview, name="api.preview", allow_head=False)
    router.add_get("/api/downloads", list_download_folders, name="api.downloads")
    router.add_delete("/api/downloads/{name}", delete_download_folder, name="api.downloads.delete")
    router.add_get(
        "/api/downloads/{name}/zip", download_folder_zip, name="api.downloads.zip", allow_head=False
    )
