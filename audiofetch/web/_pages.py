"""HTML pages and htmx fragments: home, preview, job cards and pages, admin login and server downloads.

Every form works without JavaScript (a POST answered by a 303 to a page); when htmx sends it
(``HX-Request``) the same route answers a fragment instead. Each POST must carry the session's CSRF
token (the ``csrf_token`` field or ``X-CSRF-Token``) on top of the cross-site middleware's Origin
check. Expected errors are shown in words next to the field they concern; bugs still reach the
error middleware.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from multidict import MultiDict, MultiMapping

from audiofetch import __version__, errors, formats
from audiofetch.detect import extractor_names
from audiofetch.jobs import Job, delete_download, list_downloads
from audiofetch.models import Detection, Track
from audiofetch.web._api import MAX_URL_CHARS, parse_spec, render_choice
from audiofetch.web._csrf import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    check_csrf,
    csrf_token_for,
    new_csrf_secret,
)
from audiofetch.web._keys import KEYRING_KEY, RUNNER_KEY, SETTINGS_KEY, STORE_KEY
from audiofetch.web._login import identify, session_client_id
from audiofetch.web._login import login as api_login
from audiofetch.web._login import logout as api_logout
from audiofetch.web._middlewares import status_for
from audiofetch.web._paths import base_path, local_url
from audiofetch.web._throttle import client_key

__all__ = ["FIELDS", "JOB_FIELDS", "setup_pages"]

JOB_FIELDS = ("form", "url", "mode", "plugin", "workers", "name", "selected")
FIELDS = (*JOB_FIELDS, "password")
MAX_JOBS_SHOWN = 30
MAX_SELECTED = 10_000


class FormError(Exception):
    """An expected problem to show next to ``field`` with ``status``."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _as_form_error(exc: Exception) -> FormError:
    """An AudioFetch or validation error as a FormError; anything else (a bug) is raised again."""
    if isinstance(exc, FormError):
        return exc
    status = status_for(exc)
    if status is None:
        raise exc
    message = exc.user_message if isinstance(exc, errors.AudioFetchError) else " ".join(str(exc).split())
    return FormError(status, _field_of(exc, message), message)


def _field_of(exc: Exception, message: str) -> str:
    first = message.split(" ", 1)[0]
    if first in FIELDS:
        return first
    if message.startswith("unknown plugin"):
        return "plugin"
    if isinstance(exc, errors.FetchError | errors.DetectError | errors.ExtractError) or "address" in message:
        return "url"
    return "form"


def _is_htmx(request: web.Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _see_other(request: web.Request, location: str) -> web.HTTPSeeOther:
    """A 303 to an app-relative ``location`` (``/jobs/ID``), under the base path."""
    return web.HTTPSeeOther(local_url(request, location))


def _safe_next(value: object, default: str = "/") -> str:
    """An app-relative path to go back to after a no-JavaScript form (never another site)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


async def _csrf_token(request: web.Request) -> str:
    """A fresh token for this session's CSRF secret (creating the secret on the first page)."""
    session = await get_session(request)
    secret = session.get(CSRF_SESSION_KEY)
    if not isinstance(secret, str) or not secret:
        secret = new_csrf_secret()
        session[CSRF_SESSION_KEY] = secret
    return csrf_token_for(request.app[KEYRING_KEY].csrf, secret)


async def _form(request: web.Request) -> MultiDict[str]:
    """The posted form fields (files ignored), after checking the CSRF token."""
    try:
        posted = await request.post()
    except ValueError as exc:  # a broken form (multipart without a boundary...): the user's mistake
        raise FormError(400, "form", "the form could not be read; reload the page and try again") from exc
    form: MultiDict[str] = MultiDict((k, v) for k, v in posted.items() if isinstance(v, str))
    session = await get_session(request)
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not check_csrf(request.app[KEYRING_KEY].csrf, session.get(CSRF_SESSION_KEY), presented):
        raise FormError(403, "form", "this form has expired; reload the page and try again")
    return form


def _settings_workers(app: web.Application) -> int:
    return app[SETTINGS_KEY].workers


async def _visible_jobs(request: web.Request) -> list[Job]:
    """The requester's jobs, newest first (every job for the admin)."""
    identity = await identify(request)
    owner = None if identity.admin else identity.client_id  # by owner in SQL: nobody's jobs crowd out hers
    return await request.app[STORE_KEY].list_jobs(limit=MAX_JOBS_SHOWN, client_id=owner)


async def _context(request: web.Request, **extra: Any) -> dict[str, Any]:
    """What every full page needs: who is asking, the CSRF token, the form's choices."""
    if request.headers.get("Sec-Fetch-Site") or request.headers.get("Origin"):
        await session_client_id(request)  # a browser gets its client id now, so live events find it
    identity = await identify(request)
    base = {
        "admin": identity.admin,
        "csrf_token": await _csrf_token(request),
        "plugins": extractor_names(),
        "default_workers": _settings_workers(request.app),
        "render_unavailable": request.app[RUNNER_KEY].render_unavailable(),
        "bookmarklet": _bookmarklet(request),
        "errors": {},
        "values": {},
    }
    base.update(extra)
    return base


def _bookmarklet(request: web.Request) -> str:
    """``javascript:`` link that opens this server with the current page's address filled in."""
    home = json.dumps(f"{request.scheme}://{request.host}{local_url(request, '/')}?url=")
    return f"javascript:void(window.open({home}+encodeURIComponent(location.href)))"


async def _downloads(request: web.Request) -> list[Any]:
    """The admin's download folders, each as ``(folder, busy)``: busy while a job still writes it."""
    if not (await identify(request)).admin:
        return []
    runner = request.app[RUNNER_KEY]
    busy = await runner.busy_folders()
    return [(folder, folder.name in busy) for folder in await list_downloads(runner.downloads_dir())]


# -- home, preview and job submission -----------------------------------------------------------------


async def index(request: web.Request) -> web.Response:
    """The home page; ``?url=`` (the bookmarklet) fills in the address."""
    url = request.query.get("url", "")[:MAX_URL_CHARS]
    context = await _context(
        request,
        values={"url": url},
        jobs=await _visible_jobs(request),
        downloads=await _downloads(request),
    )
    return aiohttp_jinja2.render_template("index.html", request, context)


async def healthz(request: web.Request) -> web.Response:
    """Liveness probe for containers and proxies: 200 while the process serves requests."""
    return web.json_response({"status": "ok", "version": __version__})


def _track_format(track: Track) -> str:
    """What a detected track is, as a short upper-case name (``MP3``), or ``?``."""
    found = formats.from_content_type(track.mime) or formats.from_url(track.url)
    return found.name.upper() if found is not None else "?"


def _form_values(fields: MultiMapping[str]) -> dict[str, str]:
    """The form's choices to show again: the last ``tags`` (a hidden "off" precedes the checkbox's
    "on"), never the CSRF token."""
    values = {key: value for key, value in fields.items() if key != CSRF_FIELD}
    if "tags" in fields:
        values["tags"] = fields.getall("tags")[-1]
    return values


async def preview(request: web.Request) -> web.Response:
    """``GET /preview?url=`` (htmx) or ``POST /preview`` (the form without JavaScript, so the CSRF
    token never lands in a URL): the tracks a job would fetch, as ticked checkboxes (fragment or page).
    The page keeps every choice of the form."""
    detection: Detection | None = None
    problem: FormError | None = None
    values: dict[str, str] = {}
    try:
        values = _form_values(await _form(request) if request.method == "POST" else request.query)
        url = values.get("url", "").strip()
        if not url:
            raise FormError(400, "url", "enter the address of a page first")
        plugin = values.get("plugin") or "auto"
        render = render_choice(values.get("render"))
        detection = await request.app[RUNNER_KEY].preview(
            url[:MAX_URL_CHARS],
            plugin=plugin,
            render=render,
            client_id=(await identify(request)).client_id,
            address=client_key(request.remote),
        )
    except Exception as exc:  # expected errors are shown; _as_form_error re-raises bugs
        problem = _as_form_error(exc)
    url = values.get("url", "").strip()
    errors_by_field = {problem.field: problem.message} if problem else {}
    status = problem.status if problem else 200
    if _is_htmx(request):
        context = {"detection": detection, "errors": errors_by_field, "oob": True, "previewed_url": url}
        return aiohttp_jinja2.render_template("_preview.html", request, context, status=status)
    context = await _context(
        request,
        values=values,
        errors=errors_by_field,
        detection=detection,
        previewed_url=url,
        jobs=await _visible_jobs(request),
        downloads=await _downloads(request),
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
        form = await _form(request)
        fields = _form_values(form)
        if fields.get("mode") == "server" and not (await identify(request)).admin:
            raise FormError(401, "mode", "log in as admin to save on the server")
        spec = parse_spec(fields, await session_client_id(request))
        spec = replace(spec, selected=_selected(form))
        job, duplicate = await request.app[RUNNER_KEY].submit(spec, address=client_key(request.remote))
    except Exception as exc:  # expected errors go next to their field; bugs are re-raised
        return await _form_failed(request, _as_form_error(exc), dict(form or {}))
    if not _is_htmx(request):
        raise _see_other(request, f"/jobs/{job.id}" + ("?duplicate=1" if duplicate else ""))
    context = {
        "job": job,
        "csrf_token": await _csrf_token(request),
        "duplicate": duplicate,
        "autostart": job.spec.mode == "browser" and not duplicate,
        "clear_errors": True,
        "errors": {},
    }
    return aiohttp_jinja2.render_template("_job_card.html", request, context, status=202)


async def _form_failed(request: web.Request, problem: FormError, values: dict[str, str]) -> web.Response:
    """The error next to its field: OOB fragments for htmx, the home page again without JavaScript."""
    errors_by_field = {problem.field: problem.message}
    if _is_htmx(request):
        context = {"errors": errors_by_field}
        return aiohttp_jinja2.render_template("_field_errors.html", request, context, status=problem.status)
    values.pop(CSRF_FIELD, None)
    context = await _context(
        request,
        values=values,
        errors=errors_by_field,
        jobs=await _visible_jobs(request),
        downloads=await _downloads(request),
    )
    return aiohttp_jinja2.render_template("index.html", request, context, status=problem.status)


# -- one job: page, card and actions ------------------------------------------------------------------


async def job_page(request: web.Request) -> web.Response:
    """``GET /jobs/{id}``: one job; without JavaScript it refreshes itself while the job runs."""
    try:
        job = await request.app[STORE_KEY].get(request.match_info["id"])
    except errors.JobNotFound as exc:
        context = await _context(request, message=exc.user_message)
        return aiohttp_jinja2.render_template("error.html", request, context, status=404)
    context = await _context(
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
    context = {"job": job, "csrf_token": await _csrf_token(request)}
    return aiohttp_jinja2.render_template("_job_card.html", request, context)


async def job_action(request: web.Request) -> web.StreamResponse:
    """``POST /jobs/{id}/(cancel|retry|again|delete)`` by the job's owner or the admin.

    ``retry`` and ``again`` keep the job (and its card); in browser mode they start its new ZIP.
    """
    action = request.match_info["action"]
    job_id = request.match_info["id"]
    runner = request.app[RUNNER_KEY]
    form: MultiDict[str] | None = None
    try:
        form = await _form(request)
        job = await request.app[STORE_KEY].get(job_id)
        identity = await identify(request)
        if not identity.admin and job.spec.client_id != identity.client_id:
            raise FormError(
                403, "form", "only the browser that started this job, or the admin, may change it"
            )
        if action == "cancel":
            result: Job | None = await runner.cancel(job_id)
        elif action == "retry":
            result = await runner.retry_failed(job_id, address=client_key(request.remote))
        elif action == "again":
            result = await runner.again(job_id, address=client_key(request.remote))
        else:
            await runner.delete(job_id)
            result = None
    except Exception as exc:  # shown on the card; bugs are re-raised
        return await _action_failed(request, job_id, _as_form_error(exc))
    if not _is_htmx(request):
        back = _safe_next(form.get("next") if form is not None else None)
        raise _see_other(request, "/" if result is None and back.startswith("/jobs/") else back)
    if result is None:
        return web.Response(text="", headers={"HX-Reswap": "delete"})
    context = {"job": result, "csrf_token": await _csrf_token(request)}
    if action in ("retry", "again") and result.spec.mode == "browser":
        context["autostart"] = True  # the same card starts the new ZIP
    return aiohttp_jinja2.render_template("_job_card.html", request, context)


async def _action_failed(request: web.Request, job_id: str, problem: FormError) -> web.Response:
    try:
        job: Job | None = await request.app[STORE_KEY].get(job_id)
    except errors.JobNotFound:
        job = None
    if not _is_htmx(request):
        context = await _context(request, message=problem.message)
        return aiohttp_jinja2.render_template("error.html", request, context, status=problem.status)
    if job is None:
        return web.Response(text="", headers={"HX-Reswap": "delete"})
    context = {"job": job, "csrf_token": await _csrf_token(request), "action_error": problem.message}
    return aiohttp_jinja2.render_template("_job_card.html", request, context, status=problem.status)


# -- admin: login, logout, server downloads -----------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    """``GET /login``: a plain page with the admin login (the home page hides the same form)."""
    return aiohttp_jinja2.render_template("login.html", request, await _context(request))


def _api_error_text(response: web.Response) -> str:
    try:
        return str(json.loads(response.text or "{}").get("error") or "login failed")
    except ValueError:
        return "login failed"


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login``: check the password (throttled by the API's login), then back to the home page."""
    try:
        await _form(request)
        response = await api_login(request)
        if response.status != 200:
            status = response.status
            raise FormError(status, "password", _api_error_text(response))
    except Exception as exc:  # wrong password, throttled, expired form; bugs are re-raised
        problem = _as_form_error(exc)
        problem.field = "password"
        if _is_htmx(request):
            context = {"errors": {problem.field: problem.message}, "only": ("password",)}
            return aiohttp_jinja2.render_template(
                "_field_errors.html", request, context, status=problem.status
            )
        context = await _context(request, errors={problem.field: problem.message})
        return aiohttp_jinja2.render_template("login.html", request, context, status=problem.status)
    if _is_htmx(request):
        return web.Response(text="", headers={"HX-Redirect": local_url(request, "/")})
    raise _see_other(request, "/")


async def logout_submit(request: web.Request) -> web.StreamResponse:
    """``POST /logout``: revoke the admin session, then back to the home page."""
    try:
        await _form(request)
    except FormError as problem:
        context = await _context(request, message=problem.message)
        return aiohttp_jinja2.render_template("error.html", request, context, status=problem.status)
    await api_logout(request)
    if _is_htmx(request):
        return web.Response(text="", headers={"HX-Redirect": local_url(request, "/")})
    raise _see_other(request, "/")


async def downloads_fragment(request: web.Request) -> web.Response:
    """``GET /downloads``: the admin's "Server downloads" section (401 text for others)."""
    if not (await identify(request)).admin:
        return web.Response(status=401, text="log in as admin to see the server downloads")
    context = {"downloads": await _downloads(request), "csrf_token": await _csrf_token(request)}
    return aiohttp_jinja2.render_template("_downloads.html", request, context)


async def delete_download_folder(request: web.Request) -> web.StreamResponse:
    """``POST /downloads/{name}/delete``: ask first (without JavaScript), then delete the folder."""
    name = request.match_info["name"]
    try:
        form = await _form(request)
        if not (await identify(request)).admin:
            raise FormError(401, "form", "log in as admin to delete server downloads")
        busy = name in await request.app[RUNNER_KEY].busy_folders()
        # A folder still being written is deleted only once the admin confirmed that very fact.
        if form.get("confirm") not in (("busy",) if busy else ("yes", "busy")):
            context = await _context(request, name=name, busy=busy)
            return aiohttp_jinja2.render_template("confirm_delete.html", request, context)
        await delete_download(request.app[RUNNER_KEY].downloads_dir(), name)
    except Exception as exc:  # not found, not admin, expired form; bugs are re-raised
        problem = _as_form_error(exc)
        if _is_htmx(request):
            context = {
                "downloads": await _downloads(request),
                "csrf_token": await _csrf_token(request),
                "downloads_error": problem.message,
            }
            return aiohttp_jinja2.render_template("_downloads.html", request, context, status=problem.status)
        context = await _context(request, message=problem.message)
        return aiohttp_jinja2.render_template("error.html", request, context, status=problem.status)
    if _is_htmx(request):
        return await downloads_fragment(request)
    raise _see_other(request, "/#downloads")


def _when(epoch: float | None) -> str:
    """A timestamp as ``2025-01-31 14:05 UTC`` (the server's view; pages carry no time zone)."""
    if epoch is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds <= 0:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _percent(done: int, total: int | None) -> int | None:
    if not total:
        return None
    return min(100, done * 100 // total)


def setup_pages(app: web.Application) -> None:
    """Register the pages and fragments, and the template helpers they use."""
    env = aiohttp_jinja2.get_env(app)
    env.globals["version"] = __version__
    env.globals["base"] = base_path(app)  # hand-written URLs in templates start with it
    env.globals["job_fields"] = JOB_FIELDS
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["track_format"] = _track_format
    env.globals["percent"] = _percent
    router = app.router
    router.add_get("/", index, name="index")
    router.add_get("/healthz", healthz, name="healthz")
    router.add_get("/preview", preview, name="preview")
    router.add_post("/preview", preview, name="preview.form")
    router.add_post("/jobs", submit_job, name="jobs.submit")
    router.add_get("/jobs/{id}", job_page, name="jobs.page")
    router.add_get("/jobs/{id}/card", job_card, name="jobs.card")
    router.add_post("/jobs/{id}/{action:(cancel|retry|again|delete)}", job_action, name="jobs.action")
    router.add_get("/login", login_page, name="login")
    router.add_post("/login", login_submit, name="login.submit")
    router.add_post("/logout", logout_submit, name="logout")
    router.add_get("/downloads", downloads_fragment, name="downloads")
    router.add_post("/downloads/{name}/delete", delete_download_folder, name="downloads.delete")
