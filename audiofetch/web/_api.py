"""JSON routes: submit, inspect, cancel, retry and delete jobs; stream a browser-mode ZIP; preview a page.

Handlers validate input into a ``JobSpec`` and call the runner; every error they let through is turned
into a status by ``_middlewares.ERROR_STATUSES``. Mutating someone else's job needs the admin; a job id
alone is enough to read a job or open its stream (it is unguessable and only its creator learns it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from audiofetch.config import RENDER_MODES
from audiofetch.errors import BadRequestError, JobActiveError
from audiofetch.jobs import Job, JobMode, JobSpec, delete_download, folder_entries, list_downloads
from audiofetch.models import Detection
from audiofetch.web._keys import RUNNER_KEY, STORE_KEY, ZipStreamSource
from audiofetch.web._login import admin_only, identify, read_body, require_admin, session_client_id
from audiofetch.web._middlewares import api_error
from audiofetch.web._paths import local_url
from audiofetch.web._throttle import client_key
from audiofetch.web.zipresponse import send_zip

__all__ = ["MAX_URL_CHARS", "detection_json", "parse_spec", "render_choice", "setup_api", "setup_downloads"]

log = logging.getLogger(__name__)

MAX_URL_CHARS = 4096
MAX_NAME_CHARS = 200
MAX_WORKERS = 20
MAX_LIST = 200


def _text(body: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise BadRequestError(f"{key} is longer than {limit} characters")
    return value or None


def _workers(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise BadRequestError(f"workers must be a whole number from 1 to {MAX_WORKERS}")
    return value


def _prefer(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise BadRequestError('prefer must be a list of formats such as ["flac", "mp3"]')
    formats = tuple(item.strip().lower() for item in items if item.strip())
    if len(formats) > 10 or any(len(item) > 10 or not item.isalnum() for item in formats):
        raise BadRequestError("prefer must list at most 10 format names such as flac or mp3")
    return formats


_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_FALSE_WORDS = frozenset({"0", "false", "off", "no"})


def render_choice(value: object) -> str | None:
    """The ``render`` field: auto, always or never (absent or empty: None, the server's setting)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in RENDER_MODES:
        return value.strip().lower()
    raise BadRequestError("render must be 'auto', 'always' or 'never'")


def _switch(key: str, value: object, *, default: bool) -> bool:
    """A JSON boolean, or a form word: on/true/1/yes or off/false/0/no (absent or empty: ``default``)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise BadRequestError(f"{key} must be true or false")


def _mode(value: object) -> JobMode:
    if value is None or value == "" or value == "browser":
        return "browser"
    if value == "server":
        return "server"
    raise BadRequestError("mode must be 'browser' or 'server'")


def parse_spec(body: Mapping[str, Any], client_id: str) -> JobSpec:
    """A ``JobSpec`` from request fields; ``BadRequestError`` naming the first bad field."""
    url = _text(body, "url", MAX_URL_CHARS)
    if url is None:
        raise BadRequestError("url is required")
    plugin = _text(body, "plugin", 64)
    return JobSpec(
        url=url,
        mode=_mode(body.get("mode")),
        name=_text(body, "name", MAX_NAME_CHARS),
        plugin=None if plugin in (None, "auto") else plugin,
        workers=_workers(body.get("workers")),
        prefer=_prefer(body.get("prefer")),
        client_id=client_id,
        tags=_switch("tags", body.get("tags"), default=True),
        render=render_choice(body.get("render")),
    )


def _job_response(job: Job, *, status: int = 200, duplicate: bool | None = None) -> web.Response:
    return web.json_response(job.to_json(duplicate=duplicate), status=status)


async def create_job(request: web.Request) -> web.Response:
    """``POST /api/download``: start a job (server mode needs the admin); 202 with the job."""
    body = await read_body(request)
    mode = _mode(body.get("mode"))
    if mode == "server":
        await require_admin(request)
    spec = parse_spec(body, await session_client_id(request))
    job, duplicate = await request.app[RUNNER_KEY].submit(spec, address=client_key(request.remote))
    response = _job_response(job, status=202, duplicate=duplicate)
    response.headers["Location"] = local_url(request, f"/api/status/{job.id}")
    return response


async def job_status(request: web.Request) -> web.Response:
    """``GET /api/status/{id}``: one job."""
    return _job_response(await request.app[STORE_KEY].get(request.match_info["id"]))


def _bounded_int(request: web.Request, name: str, default: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= high:
        raise BadRequestError(f"{name} must be a whole number from 0 to {high}")
    return int(text)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /api/jobs``: newest first; the admin sees every job, a visitor its own."""
    limit = _bounded_int(request, "limit", 50, MAX_LIST)
    offset = _bounded_int(request, "offset", 0, 1_000_000)
    identity = await identify(request)
    store = request.app[STORE_KEY]
    owner = None if identity.admin else identity.client_id
    jobs = await store.list_jobs(limit=limit, offset=offset, client_id=owner)
    return web.json_response({"jobs": [job.to_json() for job in jobs]})


async def _owned_job(request: web.Request) -> Job:
    """The job in the path, if the requester started it or is the admin (403 otherwise, 404 unknown)."""
    job = await request.app[STORE_KEY].get(request.match_info["id"])
    identity = await identify(request)
    if not identity.admin and job.spec.client_id != identity.client_id:
        raise api_error(
            web.HTTPForbidden, "only the client that started this job, or the admin, may change it"
        )
    return job


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE /api/jobs/{id}``: a finished job (409 while active)."""
    job = await _owned_job(request)
    await request.app[RUNNER_KEY].delete(job.id)
    return web.json_response({"id": job.id, "deleted": True})


async def cancel_job(request: web.Request) -> web.Response:
    """``POST /api/jobs/{id}/cancel``."""
    job = await _owned_job(request)
    return _job_response(await request.app[RUNNER_KEY].cancel(job.id))


async def retry_job(request: web.Request) -> web.Response:
    """``POST /api/jobs/{id}/retry``: fetch the failed tracks again."""
    job = await _owned_job(request)
    address = client_key(request.remote)
    return _job_response(await request.app[RUNNER_KEY].retry_failed(job.id, address=address))


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
    fields = dict(request.query)
    fields["mode"] = "browser"
    runner = request.app[RUNNER_KEY]
    spec = parse_spec(fields, await session_client_id(request))
    job, _ = await runner.submit(spec, address=client_key(request.remote))
    await runner.analyse(job.id)
    return await _stream_job(request, job.id)


def detection_json(detection: Detection) -> dict[str, Any]:
    """A detection as the preview shows it."""
    return {
        "page_url": detection.page_url,
        "title": detection.title,
        "player": detection.player,
        "tracks": [
            {
                "index": track.index,
                "url": track.url,
                "title": track.title,
                "artist": track.artist,
                "album": track.album,
                "duration": track.duration,
                "mime": track.mime,
                "extractor": track.extractor,
                "alternates": list(track.alternates),
            }
            for track in detection.tracks
        ],
        "skipped": [{"url": item.url, "reason": item.reason} for item in detection.skipped],
        "notes": list(detection.notes),
    }


async def preview(request: web.Request) -> web.Response:
    """``GET /api/preview?url=&plugin=``: the tracks a job would fetch, without starting one."""
    url = _text(request.query, "url", MAX_URL_CHARS)
    if url is None:
        raise BadRequestError("url is required")
    plugin = _text(request.query, "plugin", 64) or "auto"
    detection = await request.app[RUNNER_KEY].preview(
        url,
        plugin=plugin,
        prefer=_prefer(request.query.get("prefer")),
        render=render_choice(request.query.get("render")),
        client_id=(await identify(request)).client_id,
        address=client_key(request.remote),
    )
    return web.json_response(detection_json(detection))


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
    setup_downloads(app)


# -- the admin's server-mode download folders ---------------------------------------------------------


@admin_only
async def list_download_folders(request: web.Request) -> web.Response:
    """``GET /api/downloads``: the folders in ``<data_dir>/downloads`` (admin)."""
    runner = request.app[RUNNER_KEY]
    folders = await list_downloads(runner.downloads_dir())
    busy = await runner.busy_folders()
    return web.json_response(
        {"downloads": [{**folder.to_json(), "busy": folder.name in busy} for folder in folders]}
    )


async def _not_busy(request: web.Request, name: str) -> None:
    """409 for a folder a running job still writes, unless ``?force=1`` says the admin knows."""
    if request.query.get("force") != "1" and name in await request.app[RUNNER_KEY].busy_folders():
        raise JobActiveError(f"{name} is still being written by a running job; wait for it, or add force=1")


@admin_only
async def delete_download_folder(request: web.Request) -> web.Response:
    """``DELETE /api/downloads/{name}`` (admin)."""
    name = request.match_info["name"]
    await _not_busy(request, name)
    await delete_download(request.app[RUNNER_KEY].downloads_dir(), name)
    return web.json_response({"name": name, "deleted": True})


@admin_only
async def download_folder_zip(request: web.Request) -> web.StreamResponse:
    """``GET /api/downloads/{name}/zip``: the folder as a streamed ZIP (admin)."""
    name = request.match_info["name"]
    await _not_busy(request, name)
    entries = await folder_entries(request.app[RUNNER_KEY].downloads_dir(), name)
    return await send_zip(request, entries, filename=f"{name}.zip")


def setup_downloads(app: web.Application) -> None:
    """Register the admin's download-folder routes."""
    router = app.router
    router.add_get("/api/downloads", list_download_folders, name="api.downloads")
    router.add_delete("/api/downloads/{name}", delete_download_folder, name="api.downloads.delete")
    router.add_get(
        "/api/downloads/{name}/zip", download_folder_zip, name="api.downloads.zip", allow_head=False
    )
