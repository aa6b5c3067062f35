"""Errors as JSON with the one status table, security headers, the cross-site check and CORS.

``ERROR_STATUSES`` is the only place an AudioFetch error becomes an HTTP status. API paths (``/api/``,
``/zip``, ``/ws``, after any ``AUDIOFETCH_BASE_PATH``) answer ``{"error": "one line"}``; an unexpected
exception is logged with its traceback and answered with a generic 500. Every response carries the
security headers (added when it is prepared, so streamed responses and WebSocket handshakes get them too).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from audiofetch import errors
from audiofetch.web._csrf import Credentials, normalize_origin, origin_allowed
from audiofetch.web._keys import SESSION_COOKIE, web_options
from audiofetch.web._paths import app_path

__all__ = [
    "ERROR_STATUSES",
    "SECURITY_HEADERS",
    "api_error",
    "error_response",
    "is_api_path",
    "request_credentials",
    "setup_middlewares",
    "status_for",
]

log = logging.getLogger(__name__)

# Most specific first: the first class the exception is an instance of decides.
ERROR_STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (errors.BadRequestError, 400),  # our own validation only: a stray ValueError is a bug (500, logged)
    (errors.AuthRequired, 401),  # with WWW-Authenticate
    (errors.WrongPassword, 401),
    (errors.LoginThrottled, 429),
    (errors.AccessError, 403),  # someone else's job, a page that is not a listed extension's
    (errors.BlockedURLError, 403),
    (errors.DetectError, 422),  # NoAudioError, ParseError
    (errors.ExtractError, 422),
    (errors.JobNotFound, 404),
    (errors.JobActiveError, 409),
    (errors.StreamBusyError, 409),
    (errors.JobLimitError, 429),
    (errors.JobError, 409),  # JobCancelled, a server-mode job asked for its stream, ...
    (errors.FetchError, 502),  # TooLargeError too: the upstream page or file broke a limit
    (errors.DownloadError, 502),
)

GENERIC_MESSAGE = "internal server error; the details are in the server log"

SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
}

_API_PREFIXES = ("/api/", "/zip", "/ws")
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HANDSHAKE_PATHS = frozenset({"/ws", "/api/events"})
# GET routes that start work: from another site, only a top-level navigation (a link) may reach them,
# never a subresource (<img src>, <script src>, fetch) that any page could make a visitor's browser send.
_NAVIGATION_ONLY_PATHS = frozenset({"/zip"})
_OTHER_SITES = frozenset({"cross-site", "same-site"})
_CORS_METHODS = "GET, POST, DELETE"
_CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"
_CORS_EXPOSE = "Retry-After, Content-Disposition, Content-Length"


def is_api_path(path: str) -> bool:
    """True for paths that answer JSON errors (the API, ``/zip`` and ``/ws``)."""
    return path.startswith(_API_PREFIXES)


def status_for(exc: BaseException) -> int | None:
    """The HTTP status for an expected error, or None when it is a bug (answer 500, log it)."""
    if isinstance(exc, errors.AudioFetchError) and not exc.expected:
        return None
    for kind, status in ERROR_STATUSES:
        if isinstance(exc, kind):
            return status
    return None


def _message(exc: BaseException) -> str:
    if isinstance(exc, errors.AudioFetchError):
        return exc.user_message
    return " ".join(str(exc).split()) or "bad request"


def _retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def error_response(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """``{"error": message}`` with ``status``."""
    return web.json_response({"error": message}, status=status, headers=headers)


def api_error(
    kind: type[web.HTTPException], message: str, *, headers: Mapping[str, str] | None = None
) -> web.HTTPException:
    """An HTTP exception to raise whose body is ``{"error": message}``."""
    return kind(text=json.dumps({"error": message}), content_type="application/json", headers=headers)


def _from_exception(exc: BaseException) -> web.Response:
    status = status_for(exc)
    if status is None:
        log.error("unexpected error", exc_info=exc)
        return error_response(500, GENERIC_MESSAGE)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.JobLimitError | errors.LoginThrottled):
        headers[hdrs.RETRY_AFTER] = _retry_after(exc.retry_after)
    if isinstance(exc, errors.AuthRequired):
        headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="audiofetch"'
    if isinstance(exc, errors.NoAudioError) and exc.looked_for:
        body = {"error": _message(exc), "looked_for": list(exc.looked_for)}
        return web.json_response(body, status=status, headers=headers)
    return error_response(status, _message(exc), headers=headers)


def _from_http_exception(exc: web.HTTPException) -> web.HTTPException:
    """Router and body-size errors (404, 405, 413) as JSON; ours already are."""
    if exc.status < 400 or exc.content_type == "application/json":
        return exc
    default = f"{exc.status}: {exc.reason}"
    message = exc.text if exc.text and exc.text != default else (exc.reason or "error").lower()
    headers = {k: v for k, v in exc.headers.items() if k in (hdrs.ALLOW, hdrs.RETRY_AFTER)}
    exc.text = json.dumps({"error": message})
    exc.content_type = "application/json"
    exc.headers.update(headers)
    return exc


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map exceptions to statuses: JSON on API paths, plain text elsewhere; bugs become a generic 500.

    A handler that prepared a streamed response must deal with its own errors: no other response can
    be sent once the headers are out.
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if is_api_path(app_path(request)):
            raise _from_http_exception(exc) from None
        raise
    except Exception as exc:
        response = _from_exception(exc)
        if is_api_path(app_path(request)):
            return response
        status = response.status
        message = GENERIC_MESSAGE if status == 500 else _message(exc)
        return web.Response(status=status, text=message, headers=_retry_header(response))


def _retry_header(response: web.Response) -> dict[str, str]:
    value = response.headers.get(hdrs.RETRY_AFTER)
    return {hdrs.RETRY_AFTER: value} if value else {}


def request_credentials(request: web.Request) -> Credentials:
    """How the request would authenticate: a bearer header, the session cookie alone, or nothing."""
    if request.headers.get(hdrs.AUTHORIZATION, "").lower().startswith("bearer "):
        return "bearer"
    return "cookie" if SESSION_COOKIE in request.cookies else "none"


def _cross_site_refused(request: web.Request) -> bool:
    if request.method not in _UNSAFE_METHODS and app_path(request) not in _HANDSHAKE_PATHS:
        return False
    return not origin_allowed(
        request.headers.get(hdrs.ORIGIN),
        request.headers.get("Sec-Fetch-Site"),
        request.host,
        request.scheme,
        web_options(request.app).cors_origins,
        credentials=request_credentials(request),
    )


def _subresource_refused(request: web.Request) -> bool:
    """A cross-site request for a navigation-only route that the browser says is not a navigation.

    Browsers send ``Sec-Fetch-Site``/``-Mode``; scripts (curl) send neither and pass, as do navigations.
    """
    if app_path(request) not in _NAVIGATION_ONLY_PATHS:
        return False
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    mode = request.headers.get("Sec-Fetch-Mode", "").strip().lower()
    return site in _OTHER_SITES and mode != "navigate"


def _cors_origin(request: web.Request) -> str | None:
    """The request's Origin when it is one of the configured CORS origins."""
    origin = request.headers.get(hdrs.ORIGIN)
    allowed = web_options(request.app).cors_origins
    if not origin or not allowed or not is_api_path(app_path(request)):
        return None
    normal = normalize_origin(origin)
    if normal is None or normal not in {normalize_origin(o) for o in allowed}:
        return None
    return origin


@web.middleware
async def cross_site_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer CORS preflights; refuse unsafe requests, live handshakes and non-navigation ``/zip`` loads
    from other sites (403)."""
    if request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers:
        if _cors_origin(request) is None:
            raise api_error(web.HTTPForbidden, "cross-origin requests from this site are not allowed")
        return web.Response(
            status=204,
            headers={
                hdrs.ACCESS_CONTROL_ALLOW_METHODS: _CORS_METHODS,
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: _CORS_HEADERS,
                hdrs.ACCESS_CONTROL_MAX_AGE: "600",
            },
        )
    if _cross_site_refused(request):
        log.info(
            "refused cross-site %s %s from %r", request.method, request.path, request.headers.get("Origin")
        )
        raise api_error(web.HTTPForbidden, "cross-site request refused")
    if _subresource_refused(request):
        log.info("refused a cross-site %s subresource request for %s", request.method, request.path)
        raise api_error(
            web.HTTPForbidden, "another site may link to this address, but not load it as part of its page"
        )
    return await handler(request)


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    origin = _cors_origin(request)
    if origin is not None:
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = _CORS_EXPOSE
    if web_options(request.app).cors_origins:
        response.headers.add(hdrs.VARY, "Origin")


def setup_middlewares(app: web.Application) -> None:
    """Install the error and cross-site middlewares (outermost first) and the header hook.

    Call before ``setup_login`` so the error middleware also wraps the session middleware.
    """
    app.middlewares.append(error_middleware)
    app.middlewares.append(cross_site_middleware)
    app.on_response_prepare.append(_add_headers)
