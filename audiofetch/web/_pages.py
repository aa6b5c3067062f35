"""HTML pages and htmx fragments for jobs: home, preview, submission, the job's page, card and actions.

They call the functions the JSON API calls too (``_actions``) and show an expected error in words next
to the field it names (``_forms``); bugs still reach the error middleware. The admin's pages are in
``_admin_pages``.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from audiofetch import __version__, errors
from audiofetch.errors import AdminRequired, NotOwner
from audiofetch.models import Detection
from audiofetch.web._actions import (
    Action,
    change_job,
    download_folders,
    preview_page,
    start_job,
    visible_jobs,
)
from audiofetch.web._admin_pages import setup_admin_pages
from audiofetch.web._contract import MAX_URL_CHARS
from audiofetch.web._csrf import CSRF_FIELD
from audiofetch.web._forms import (
    FormError,
    as_form_error,
    csrf_token,
    error_page,
    form_values,
    is_htmx,
    page_context,
    read_form,
    see_other,
    setup_templates,
)
from audiofetch.web._keys import RUNNER_KEY, STORE_KEY

__all__ = ["healthz", "home_context", "setup_pages"]

MAX_JOBS_SHOWN = 30
MAX_SELECTED = 10_000


async def home_context(request: web.Request, **extra: Any) -> dict[str, Any]:
    """A full page's context with the requester's latest jobs and (for the admin) the download folders."""
    return await page_context(
        request,
        jobs=await visible_jobs(request, limit=MAX_JOBS_SHOWN),
        downloads=await download_folders(request, quiet=True),
        **extra,
    )


async def index(request: web.Request) -> web.Response:
    """The home page; ``?url=`` (the bookmarklet) fills in the address."""
    context = await home_context(request, values={"url": request.query.get("url", "")[:MAX_URL_CHARS]})
    return aiohttp_jinja2.render_template("index.html", request, context)


async def healthz(request: web.Request) -> web.Response:
    """Liveness probe for containers and proxies: 200 while the process serves requests."""
    return web.json_response({"status": "ok", "version": __version__})


async def preview(request: web.Request) -> web.Response:
    """``GET /preview?url=`` (htmx) or ``POST /preview`` (the form without JavaScript, so the CSRF
    token never lands in a URL): the tracks a job would fetch, as ticked checkboxes (fragment or page).
    The page keeps every choice of the form."""
    detection: Detection | None = None
    problem: FormError | None = None
    values: dict[str, str] = {}
    try:
        values = form_values(await read_form(request) if request.method == "POST" else request.query)
        detection = await preview_page(request, values)
    except Exception as exc:  # expected errors are shown; as_form_error re-raises bugs
        problem = as_form_error(exc)
    url = values.get("url", "").strip()
    errors_by_field = {problem.field: problem.message} if problem else {}
    status = problem.status if problem else 200
    if is_htmx(request):
        context = {"detection": detection, "errors": errors_by_field, "oob": True, "previewed_url": url}
        return aiohttp_jinja2.render_template("_preview.html", request, context, status=status)
    context = await home_context(
        request, values=values, errors=errors_by_field, detection=detection, previewed_url=url
    )
    return aiohttp_jinja2.render_template("index.html", request, context, status=status)


def _selected(form: MultiDict[str]) -> tuple[int, ...] | None:
    """The ticked track indexes when the preview shown was of this very URL (None: every track)."""
    previewed = form.get("previewed", "").strip()
    if not previewed or previewed != form.get("url", "").strip():
        return None
    values = form.getall("selected", [])
    if len(values) > MAX_SELECTED or not all(
        v.isascii() and v.isdigit() and 0 < int(v) <= MAX_SELECTED for v in values
    ):
        raise FormError(400, "selected", "the ticked tracks are not valid; preview the page again")
    if not values:
        raise FormError(400, "selected", "tick at least one track to download")
    return tuple(sorted({int(v) for v in values}))


async def submit_job(request: web.Request) -> web.StreamResponse:
    """``POST /jobs``: start a job from the form; a card (htmx) or a redirect to the job page."""
    form: MultiDict[str] | None = None
    try:
        form = await read_form(request)
        job, duplicate = await start_job(request, form_values(form), selected=_selected(form))
    except Exception as exc:  # expected errors go next to their field; bugs are re-raised
        problem = as_form_error(exc, reword=(AdminRequired, "log in as admin to save on the server"))
        return await _form_failed(request, problem, dict(form or {}))
    if not is_htmx(request):
        raise see_other(request, f"/jobs/{job.id}" + ("?duplicate=1" if duplicate else ""))
    context = {
        "job": job,
        "csrf_token": await csrf_token(request),
        "duplicate": duplicate,
        "autostart": job.spec.mode == "browser" and not duplicate,
        "clear_errors": True,
        "errors": {},
    }
    return aiohttp_jinja2.render_template("_job_card.html", request, context, status=202)


async def _form_failed(request: web.Request, problem: FormError, values: dict[str, str]) -> web.Response:
    """The error next to its field: OOB fragments for htmx, the home page again without JavaScript."""
    errors_by_field = {problem.field: problem.message}
    if is_htmx(request):
        context = {"errors": errors_by_field}
        return aiohttp_jinja2.render_template("_field_errors.html", request, context, status=problem.status)
    values.pop(CSRF_FIELD, None)
    context = await home_context(request, values=values, errors=errors_by_field)
    return aiohttp_jinja2.render_template("index.html", request, context, status=problem.status)


async def job_page(request: web.Request) -> web.Response:
    """``GET /jobs/{id}``: one job; without JavaScript it refreshes itself while the job runs."""
    try:
        job = await request.app[STORE_KEY].get(request.match_info["id"])
    except errors.JobNotFound as exc:
        return await error_page(request, exc.user_message, 404)
    context = await page_context(
        request,
        job=job,
        duplicate=request.query.get("duplicate") == "1",
        cookie_domains=sorted(request.app[RUNNER_KEY].sent_cookie_domains(job.id)),
    )
    return aiohttp_jinja2.render_template("job.html", request, context)


async def job_card(request: web.Request) -> web.Response:
    """``GET /jobs/{id}/card``: the job's card alone, for live refreshes (404 once it is deleted)."""
    try:
        job = await request.app[STORE_KEY].get(request.match_info["id"])
    except errors.JobNotFound as exc:
        return web.Response(status=404, text=exc.user_message)
    context = {"job": job, "csrf_token": await csrf_token(request)}
    return aiohttp_jinja2.render_template("_job_card.html", request, context)


def _safe_next(value: object, default: str = "/") -> str:
    """An app-relative path to go back to after a no-JavaScript form (never another site)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


async def job_action(request: web.Request) -> web.StreamResponse:
    """``POST /jobs/{id}/(cancel|retry|again|delete)`` by the job's owner or the admin.

    ``retry`` and ``again`` keep the job (and its card); in browser mode they start its new ZIP.
    """
    action: Action = request.match_info["action"]  # type: ignore[assignment]  # the route's pattern
    job_id = request.match_info["id"]
    form: MultiDict[str] | None = None
    try:
        form = await read_form(request)
        result = await change_job(request, job_id, action)
    except Exception as exc:  # shown on the card; bugs are re-raised
        reword = (NotOwner, "only the browser that started this job, or the admin, may change it")
        return await _action_failed(request, job_id, as_form_error(exc, reword=reword))
    if not is_htmx(request):
        back = _safe_next(form.get("next") if form is not None else None)
        raise see_other(request, "/" if result is None and back.startswith("/jobs/") else back)
    if result is None:
        return web.Response(text="", headers={"HX-Reswap": "delete"})
    context = {"job": result, "csrf_token": await csrf_token(request)}
    if action in ("retry", "again") and result.spec.mode == "browser":
        context["autostart"] = True  # the same card starts the new ZIP
    return aiohttp_jinja2.render_template("_job_card.html", request, context)


async def _action_failed(request: web.Request, job_id: str, problem: FormError) -> web.Response:
    try:
        job = await request.app[STORE_KEY].get(job_id)
    except errors.JobNotFound:
        job = None
    if not is_htmx(request):
        return await error_page(request, problem.message, problem.status)
    if job is None:
        return web.Response(text="", headers={"HX-Reswap": "delete"})
    context = {"job": job, "csrf_token": await csrf_token(request), "action_error": problem.message}
    return aiohttp_jinja2.render_template("_job_card.html", request, context, status=problem.status)


def setup_pages(app: web.Application) -> None:
    """Register the pages and fragments, and the template helpers they use."""
    setup_templates(app)
    router = app.router
    router.add_get("/", index, name="index")
    router.add_get("/healthz", healthz, name="healthz")
    router.add_get("/preview", preview, name="preview")
    router.add_post("/preview", preview, name="preview.form")
    router.add_post("/jobs", submit_job, name="jobs.submit")
    router.add_get("/jobs/{id}", job_page, name="jobs.page")
    router.add_get("/jobs/{id}/card", job_card, name="jobs.card")
    router.add_post("/jobs/{id}/{action:(cancel|retry|again|delete)}", job_action, name="jobs.action")
    setup_admin_pages(app)
