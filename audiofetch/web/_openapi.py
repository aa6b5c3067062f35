"""The OpenAPI 3.1 document of the JSON API, generated from the contract; ``GET /api/openapi.json``.

Schemas, bodies and query parameters come from ``_contract`` (the request models the handlers read with,
and the answers), so a limit or a field is stated once; this module adds each operation's summary and
answers. ``tests/web/test_openapi.py`` fails when a route and the document disagree.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from audiofetch import __version__
from audiofetch.web._contract import (
    EVENTS_QUERY,
    JOB_LIST_QUERY,
    JOB_REQUEST,
    LOGIN,
    MAX_BODY_BYTES,
    PREVIEW_QUERY,
    SCHEMAS,
    SENT_PAGE,
    TOKEN,
    ZIP_QUERY,
    ref,
    shape,
)
from audiofetch.web._fields import Model, Schema
from audiofetch.web._paths import base_path

__all__ = ["openapi_document", "setup_openapi"]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
_ZIP = {
    "description": "The ZIP archive, streamed while it is written (Content-Length when known).",
    "content": {"application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}},
}
# The new job's id, for the operations that take one (schemathesis follows these in its stateful phase).
_JOB_LINKS = {
    name: {"operationId": f"{name}Job", "parameters": {"id": "$response.body#/id"}}
    for name in ("status", "cancel", "retry", "delete", "stream")
}
_OBJECT: Schema = {"type": "object"}

# Error answers shared by several operations, by status.
NOT_FOUND = "No job has this id."
UNAUTHORIZED = "Admin login or a valid bearer token is required."
LIMIT = "Too many jobs in flight or queued."
CROSS_SITE = "Cross-site request (Origin / Sec-Fetch-Site), or a session cookie without them."
TOO_LARGE = f"The request body is over {MAX_BODY_BYTES // 1024} KiB."
BUSY = "A running job still writes the folder (add force=1 to go ahead)."
PAGE_ERRORS = {
    400: "Missing or malformed field.",
    403: "The target address is refused (SSRF guard) or the request is cross-site.",
    422: "No audio found on the page.",
    502: "The page could not be fetched.",
}
JOB_ERRORS = {403: "Someone else's job, or a cross-site request.", 404: NOT_FOUND}


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(status: int, description: str) -> dict[str, Any]:
    answer = _json(description, ref("Error"))
    if status == 429:  # every 429 says when to come back
        answer["headers"] = _RETRY_AFTER
    return answer


def op(
    summary: str,
    ok: dict[str, Any],
    errors: dict[int, str],
    *,
    status: int = 200,
    path: str | None = None,
    query: Model | None = None,
    body: Schema | None = None,
    operation_id: str | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """One operation: ``ok`` answered with ``status``, each error status with its description."""
    operation: dict[str, Any] = {"summary": summary}
    if operation_id:
        operation["operationId"] = operation_id
    if security is not None:
        operation["security"] = security
    in_path = [{"name": path, "in": "path", "required": True, "schema": {"type": "string"}}] if path else []
    parameters = in_path + (query.parameters() if query else [])
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    responses = {str(status): ok, **{str(code): _error(code, text) for code, text in errors.items()}}
    # aiohttp's HTTP parser answers a request line or header over 8 KiB itself, before any middleware,
    # in plain text: every operation can get that 400 (a long query, id or name).
    bad = responses.setdefault("400", {"description": "Malformed request."})
    bad["content"] = {**bad.get("content", {}), "text/plain": {"schema": {"type": "string"}}}
    operation["responses"] = responses
    return operation


def _body(model: Model, *media: str) -> Schema:
    return {"required": True, "content": {kind: {"schema": ref(model.name)} for kind in media}}


_JOB = {**_json("The job.", ref("Job")), "links": _JOB_LINKS}
_ONE_JOB = _json("The job.", ref("Job"))
_JOBS = _json("The jobs.", shape("jobs", jobs={"type": "array", "items": ref("Job")}))
_FOLDERS = _json("Folders.", shape("downloads", downloads={"type": "array", "items": ref("Download")}))
_ME = _json("Who.", shape("admin:boolean via:string expires_at:number?"))
_EVENTS = {
    "description": "text/event-stream; each data line holds an Event.",
    "content": {"text/event-stream": {"schema": ref("Event")}},
}
_SENT_ERRORS = {
    400: "Missing or malformed field.",
    401: "No valid extension (or admin) bearer token.",
    403: "The page address is refused (SSRF guard) or the request is cross-site.",
    413: "The page is over the page size limit (AUDIOFETCH_MAX_PAGE_BYTES).",
    429: LIMIT,
}
_STREAM_ERRORS = {
    403: "The analysis met a refused target address (a redirect to one).",
    404: NOT_FOUND,
    409: "Another client is already receiving this stream, or the job has none.",
    422: "No audio was found on the page.",
    502: "The page could not be fetched.",
}
_LOGIN_ERRORS = {
    400: "No password.",
    401: "Wrong password.",
    403: CROSS_SITE,
    413: TOO_LARGE,
    429: "Too many attempts.",
}
_FOLDER_ERRORS = {400: "Bad name.", 401: UNAUTHORIZED, 404: "No such folder.", 409: BUSY}
_LIVE_ERRORS = {400: "A parameter over 64 characters.", 403: "Cross-site handshake."}
_WS_ERRORS = {400: "Not a WebSocket handshake, or a parameter over 64 characters.", 403: "Cross-site."}

PATHS: dict[str, dict[str, Any]] = {
    "/api/download": {"post": op(
        "Start a job (server mode needs the admin); an active duplicate is returned instead.", _JOB,
        {**PAGE_ERRORS, 401: UNAUTHORIZED, 413: TOO_LARGE, 429: LIMIT},
        status=202, body=_body(JOB_REQUEST, JSON, FORM),
    )},
    "/api/extension/pair": {"post": op(
        "A browser extension listed in AUDIOFETCH_CORS_ORIGINS gets a long-lived token.",
        _json("Paired.", TOKEN),
        {403: "Not a listed browser extension, or cross-site."},
    )},
    "/api/page": {"post": op(
        "Start a browser-mode job for a page as the user's browser shows it.", _JOB, _SENT_ERRORS,
        status=202, body=_body(SENT_PAGE, JSON), security=[{"extension": []}],
    )},
    "/api/status/{id}": {
        "get": op("One job.", _ONE_JOB, {404: NOT_FOUND}, path="id", operation_id="statusJob")
    },
    "/api/jobs": {"get": op(
        "Jobs, newest first: the admin sees all, a visitor its own.", _JOBS, {400: "Bad limit or offset."},
        query=JOB_LIST_QUERY,
    )},
    "/api/jobs/{id}": {"delete": op(
        "Delete a finished job.", _json("Deleted.", _OBJECT), {**JOB_ERRORS, 409: "The job is still active."},
        path="id", operation_id="deleteJob",
    )},
    "/api/jobs/{id}/cancel": {
        "post": op("Cancel a job.", _ONE_JOB, JOB_ERRORS, path="id", operation_id="cancelJob")
    },
    "/api/jobs/{id}/retry": {"post": op(
        "Retry the failed tracks.", _ONE_JOB,
        {**JOB_ERRORS, 400: "The job has no failed tracks.", 409: "The job is still active."},
        path="id", operation_id="retryJob",
    )},
    "/api/stream/{id}": {"get": op(
        "Stream a browser-mode job's ZIP; the downloads run while it is sent.", _ZIP, _STREAM_ERRORS,
        path="id", operation_id="streamJob",
    )},
    "/zip": {"get": op(
        "Analyse a page and stream its ZIP in the same response (for curl -OJ).", _ZIP,
        {**PAGE_ERRORS, 409: "Stream busy.", 429: LIMIT}, query=ZIP_QUERY,
    )},
    "/api/preview": {"get": op(
        "The tracks found on a page, without starting a job.",
        _json("What the page holds.", ref("Detection")),
        PAGE_ERRORS, query=PREVIEW_QUERY,
    )},
    "/api/events": {"get": op(
        "Server-Sent Events of jobs (`: ping` comments between events).", _EVENTS, _LIVE_ERRORS,
        query=EVENTS_QUERY,
    )},
    "/ws": {"get": op(
        "WebSocket carrying the same events as /api/events, one JSON text message each.",
        {"description": "Switching to the WebSocket protocol."}, _WS_ERRORS, status=101, query=EVENTS_QUERY,
    )},
    "/api/auth/login": {"post": op(
        "Log in as admin: sets the session cookie and returns a bearer token.", _json("Logged in.", TOKEN),
        _LOGIN_ERRORS, body=_body(LOGIN, JSON, FORM),
    )},
    "/api/auth/logout": {"post": op(
        "Revoke the bearer token or the session's token.", _json("Logged out.", _OBJECT), {403: CROSS_SITE}
    )},
    "/api/auth/me": {"get": op("Whether the requester is the admin.", _ME, {})},
    "/api/downloads": {
        "get": op("Server-mode download folders (admin).", _FOLDERS, {401: UNAUTHORIZED}, security=_ADMIN)
    },
    "/api/downloads/{name}": {"delete": op(
        "Delete a download folder (admin).", _json("Deleted.", _OBJECT), {**_FOLDER_ERRORS, 403: CROSS_SITE},
        path="name", security=_ADMIN,
    )},
    "/api/downloads/{name}/zip": {"get": op(
        "A download folder as a streamed ZIP (admin).", _ZIP, _FOLDER_ERRORS, path="name", security=_ADMIN
    )},
    "/api/openapi.json": {"get": op("This document.", _json("OpenAPI 3.1.", _OBJECT), {})},
}  # fmt: skip

# API tokens (web/_tokenroutes.py): made, listed and revoked by the admin; accepted on every route.
_TOKEN_ADMIN: list[dict[str, list[str]]] = [{"apiToken": []}, *_ADMIN]
_API_TOKEN = shape(
    "id name kind created_at:number", "id", "name", "kind", "created_at",
    id={"type": "string", "description": "12 hex digits; names the token, is not the token."},
    name={"type": "string"}, kind={"type": "string", "enum": ["browser", "admin"]},
)  # fmt: skip
_NEW_TOKEN = {**_API_TOKEN, "required": [*_API_TOKEN["required"], "token"],
              "properties": {**_API_TOKEN["properties"], "token": {"type": "string"}}}  # fmt: skip
_TOKEN_BODY = {"required": True, "content": {JSON: {"schema": shape(
    "name kind", "name", name={"type": "string", "minLength": 1, "maxLength": 80},
    kind={"type": "string", "enum": ["browser", "admin"], "default": "browser"},
)}}}  # fmt: skip
PATHS["/api/admin/tokens"] = {
    "get": op("The API tokens, by name (admin); never the tokens themselves.",
              _json("Tokens.", shape("tokens", tokens={"type": "array", "items": _API_TOKEN})),
              {401: UNAUTHORIZED}, security=_TOKEN_ADMIN),
    "post": op("Make an API token (admin); the answer is the only time it is shown.",
               _json("The token.", _NEW_TOKEN),
               {400: "Missing name, unknown kind, or too many tokens.", 401: UNAUTHORIZED, 403: CROSS_SITE,
                413: TOO_LARGE}, status=201, body=_TOKEN_BODY, security=_TOKEN_ADMIN),
}  # fmt: skip
PATHS["/api/admin/tokens/{id}"] = {"delete": op(
    "Revoke an API token (admin): refused from the next request on.", _json("Revoked.", _OBJECT),
    {401: UNAUTHORIZED, 403: CROSS_SITE, 404: "No such token."}, path="id", security=_TOKEN_ADMIN,
)}  # fmt: skip


_DESCRIPTION = 'Give it a web page, get every audio track on it. Errors are {"error": "..."}.'
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Token from POST /api/auth/login."},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "AUDIOFETCH_SESSION"},
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "A long-lived API token (afk_...) the admin made at /admin/tokens, accepted on every API route,"
            " /api/events and /zip. Kind 'browser': a visitor's rights with its own jobs and limits; kind"
            " 'admin': the admin's. An unknown or revoked token is answered 401."
        ),
    },
    "extension": {
        "type": "http",
        "scheme": "bearer",
        "description": "Token from POST /api/extension/pair (a paired browser extension).",
    },
}


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (a fresh dict each call)."""
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "AudioFetch API",
                "version": __version__,
                "description": _DESCRIPTION,
            },
            "paths": PATHS,
            "components": {"schemas": SCHEMAS, "securitySchemes": _SECURITY_SCHEMES},
        }
    )


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``; under a base path its ``servers`` entry names it, so paths resolve."""
    document = openapi_document()
    base = base_path(request.app)
    if base:
        document["servers"] = [{"url": base, "description": "AUDIOFETCH_BASE_PATH"}]
    return web.json_response(document)


def setup_openapi(app: web.Application) -> None:
    """Register ``GET /api/openapi.json``."""
    app.router.add_get("/api/openapi.json", openapi_json, name="api.openapi")
