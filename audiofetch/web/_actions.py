"""What a request may do with jobs and download folders, shared by the JSON API and the form pages.

Each function reads its input through the contract's models, checks who is asking, calls the runner and
returns plain values; errors carry the field they concern. The API turns the values into JSON
(``_api``), the pages into HTML (``_pages``, ``_admin_pages``); neither calls the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from aiohttp import web

from audiofetch.errors import JobActiveError, NotOwner
from audiofetch.jobs import DownloadFolder, Job, delete_download, list_downloads
from audiofetch.models import Detection
from audiofetch.web._contract import JOB_REQUEST, MODE, PREVIEW_QUERY, spec_of
from audiofetch.web._keys import RUNNER_KEY, STORE_KEY
from audiofetch.web._login import identify, require_admin, session_client_id
from audiofetch.web._throttle import client_key

__all__ = [
    "Action",
    "change_job",
    "download_folders",
    "folder_is_free",
    "owned_job",
    "preview_page",
    "remove_download_folder",
    "start_job",
    "visible_jobs",
]

Action = Literal["cancel", "retry", "again", "delete"]


async def start_job(
    request: web.Request, body: Mapping[str, Any], *, selected: tuple[int, ...] | None = None
) -> tuple[Job, bool]:
    """Start the job ``body`` asks for (``JOB_REQUEST``; server mode needs the admin), or find the
    active one for the same page: ``(job, duplicate)``."""
    if MODE.read(body.get("mode")) == "server":  # before the other fields: a visitor learns no more
        await require_admin(request, field="mode")
    fields = JOB_REQUEST.read(body)
    spec = replace(spec_of(fields, await session_client_id(request)), selected=selected)
    return await request.app[RUNNER_KEY].submit(spec, address=client_key(request.remote))


async def preview_page(request: web.Request, query: Mapping[str, Any]) -> Detection:
    """The tracks a job for the page would fetch (``PREVIEW_QUERY``), without starting one."""
    fields = PREVIEW_QUERY.read(query)
    return await request.app[RUNNER_KEY].preview(
        fields["url"],
        plugin=fields["plugin"] or "auto",
        prefer=fields["prefer"],
        render=fields["render"],
        client_id=(await identify(request)).client_id,
        address=client_key(request.remote),
    )


async def visible_jobs(request: web.Request, *, limit: int, offset: int = 0) -> list[Job]:
    """The requester's jobs, newest first (every job for the admin); by owner in SQL, so nobody's
    jobs crowd out hers."""
    identity = await identify(request)
    owner = None if identity.admin else identity.client_id
    return await request.app[STORE_KEY].list_jobs(limit=limit, offset=offset, client_id=owner)


async def owned_job(request: web.Request, job_id: str) -> Job:
    """The job, if the requester started it or is the admin (``NotOwner`` otherwise, 404 unknown)."""
    job = await request.app[STORE_KEY].get(job_id)
    identity = await identify(request)
    if not identity.admin and job.spec.client_id != identity.client_id:
        raise NotOwner()
    return job


async def change_job(request: web.Request, job_id: str, action: Action) -> Job | None:
    """Cancel, retry (the failed tracks), run again or delete the requester's job; the job after it
    (None once deleted)."""
    job = await owned_job(request, job_id)
    runner = request.app[RUNNER_KEY]
    if action == "cancel":
        return await runner.cancel(job.id)
    if action == "retry":
        return await runner.retry_failed(job.id, address=client_key(request.remote))
    if action == "again":
        return await runner.again(job.id, address=client_key(request.remote))
    await runner.delete(job.id)
    return None


async def download_folders(request: web.Request, *, quiet: bool = False) -> list[tuple[DownloadFolder, bool]]:
    """The admin's download folders, each with whether a running job still writes it (admin only;
    ``quiet``: none for anyone else)."""
    if quiet and not (await identify(request)).admin:
        return []
    await require_admin(request)
    runner = request.app[RUNNER_KEY]
    busy = await runner.busy_folders()
    return [(folder, folder.name in busy) for folder in await list_downloads(runner.downloads_dir())]


async def folder_is_free(request: web.Request, name: str, *, force: bool) -> bool:
    """Whether no running job writes folder ``name``; with ``force`` a busy one is ``JobActiveError`` no
    more (the admin knows)."""
    busy = name in await request.app[RUNNER_KEY].busy_folders()
    if busy and not force:
        raise JobActiveError(f"{name} is still being written by a running job; wait for it, or add force=1")
    return not busy


async def remove_download_folder(request: web.Request, name: str, *, force: bool) -> None:
    """Delete download folder ``name`` (admin only; ``JobActiveError`` while written, unless ``force``)."""
    await require_admin(request)
    await folder_is_free(request, name, force=force)
    await delete_download(request.app[RUNNER_KEY].downloads_dir(), name)
