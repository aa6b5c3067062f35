"""What every HTML page and form handler needs: the posted form behind its CSRF check, the error shown
next to its field, the context of a full page, and the template filters.

Every form works without JavaScript (a POST answered by a 303 to a page); when htmx sends it
(``HX-Request``) the same route answers a fragment instead. Each POST must carry the session's CSRF token
(the ``csrf_token`` field or ``X-CSRF-Token``) on top of the cross-site middleware's Origin check.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from multidict import MultiDict, MultiMapping

from audiofetch import __version__, errors, formats
from audiofetch.detect import extractor_names
from audiofetch.models import Track
from audiofetch.web._contract import WORKERS
from audiofetch.web._csrf import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    check_csrf,
    csrf_token_for,
    new_csrf_secret,
)
from audiofetch.web._keys import KEYRING_KEY, RUNNER_KEY, SETTINGS_KEY
from audiofetch.web._login import identify, session_client_id
from audiofetch.web._middlewares import status_for
from audiofetch.web._paths import base_path, local_url

__all__ = [
    "JOB_FIELDS",
    "FormError",
    "as_form_error",
    "csrf_token",
    "error_page",
    "is_htmx",
    "page_context",
    "read_form",
    "see_other",
    "setup_templates",
]

# The fields the home page shows an error under; an error about another field shows under "form".
JOB_FIELDS = ("form", "url", "mode", "plugin", "workers", "name", "selected")


class FormError(Exception):
    """An expected problem to show next to ``field`` with ``status``."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def as_form_error(
    exc: Exception, shown: tuple[str, ...] = JOB_FIELDS, reword: tuple[type[Exception], str] | None = None
) -> FormError:
    """An expected error as a FormError under the field it names (``form`` if the page does not show
    that one), ``reword`` one kind in the page's own words; anything else (a bug) is raised again."""
    if isinstance(exc, FormError):
        return exc
    status = status_for(exc)
    if status is None:
        raise exc
    message = exc.user_message if isinstance(exc, errors.AudioFetchError) else " ".join(str(exc).split())
    if reword is not None and isinstance(exc, reword[0]):
        message = reword[1]
    field = exc.field if isinstance(exc, errors.AudioFetchError) else None
    return FormError(status, field if field in shown else "form", message)


async def error_page(request: web.Request, message: str, status: int) -> web.Response:
    """The full error page, with ``message`` in words."""
    context = await page_context(request, message=message)
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


def is_htmx(request: web.Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def see_other(request: web.Request, location: str) -> web.HTTPSeeOther:
    """A 303 to an app-relative ``location`` (``/jobs/ID``), under the base path."""
    return web.HTTPSeeOther(local_url(request, location))


async def csrf_token(request: web.Request) -> str:
    """A fresh token for this session's CSRF secret (creating the secret on the first page)."""
    session = await get_session(request)
    secret = session.get(CSRF_SESSION_KEY)
    if not isinstance(secret, str) or not secret:
        secret = new_csrf_secret()
        session[CSRF_SESSION_KEY] = secret
    return csrf_token_for(request.app[KEYRING_KEY].csrf, secret)


async def read_form(request: web.Request) -> MultiDict[str]:
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


def form_values(fields: MultiMapping[str]) -> dict[str, str]:
    """The form's choices to show again: the last ``tags`` (a hidden "off" precedes the checkbox's
    "on"), never the CSRF token."""
    values = {key: value for key, value in fields.items() if key != CSRF_FIELD}
    if "tags" in fields:
        values["tags"] = fields.getall("tags")[-1]
    return values


async def page_context(request: web.Request, **extra: Any) -> dict[str, Any]:
    """What every full page needs: who is asking, the CSRF token, the form's choices."""
    if request.headers.get("Sec-Fetch-Site") or request.headers.get("Origin"):
        await session_client_id(request)  # a browser gets its client id now, so live events find it
    identity = await identify(request)
    base = {
        "admin": identity.admin,
        "csrf_token": await csrf_token(request),
        "plugins": extractor_names(),
        "default_workers": request.app[SETTINGS_KEY].workers,
        "workers_field": WORKERS,
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


def _track_format(track: Track) -> str:
    """What a detected track is, as a short upper-case name (``MP3``), or ``?``."""
    found = formats.from_content_type(track.mime) or formats.from_url(track.url)
    return found.name.upper() if found is not None else "?"


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


def setup_templates(app: web.Application) -> None:
    """The globals and filters the templates use."""
    env = aiohttp_jinja2.get_env(app)
    env.globals["version"] = __version__
    env.globals["base"] = base_path(app)  # hand-written URLs in templates start with it
    env.globals["job_fields"] = JOB_FIELDS
    env.globals["percent"] = _percent
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["track_format"] = _track_format
