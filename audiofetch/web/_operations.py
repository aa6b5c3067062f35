"""Every operation of the JSON API for the OpenAPI document: its summary, what it reads and its answers.

Bodies and query parameters come from the request models of ``_contract`` (the ones the handlers read
with), so a limit or a field is stated once. ``tests/web/test_openapi.py`` fails when a route and this
table disagree.
"""

from __future__ import annotations

from typing import Any

from audiofetch.web._contract import (
    EVENTS_QUERY,
    JOB_LIST_QUERY,
    JOB_REQUEST,
    LOGIN,
    PREVIEW_QUERY,
    SENT_PAGE,
    TOKEN,
    ZIP_QUERY,
)
from audiofetch.web._fields import Model, Schema

__all__ = ["PATHS"]

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
    name: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
    for name, operation in (
        ("status", "jobStatus"),
        ("cancel", "cancelJob"),
        ("retry", "retryJob"),
        ("delete", "deleteJob"),
        ("stream", "streamJob"),
    )
}
_OBJECT: Schema = {"type": "object"}

# Error answers shared by several operations, by status.
NOT_FOUND = "No job has this id."
UNAUTHORIZED = "Admin login or a valid bearer token is required."
LIMIT = "Too many jobs in flight or queued."
CROSS_SITE = "Cross-site request (Origin / Sec-Fetch-Site), or a session cookie without them."
TOO_LARGE = "The request body is over 64 KiB."
BUSY = "A running job still writes the folder (add force=1 to go ahead)."
PAGE_ERRORS = {
    400: "Missing or malformed field.",
    403: "The target address is refused (SSRF guard) or the request is cross-site.",
    422: "No audio found on the page.",
    502: "The page could not be fetched.",
}
JOB_ERRORS = {403: "Someone else's job, or a cross-site request.", 404: NOT_FOUND}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(status: int, description: str) -> dict[str, Any]:
    answer = _json(description, _ref("Error"))
    if status == 429:  # every 429 says when to come back
        answer["headers"] = _RETRY_AFTER
    return answer


def _path_parameter(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


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
    parameters = ([_path_parameter(path)] if path else []) + (query.parameters() if query else [])
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {
        str(status): ok,
        **{str(code): _error(code, text) for code, text in errors.items()},
    }
    return operation


def _body(model: Model, *media: str) -> Schema:
    return {"required": True, "content": {kind: {"schema": _ref(model.name)} for kind in media}}


def _inline_body(model: Model) -> Schema:
    return {"required": True, "content": {kind: {"schema": model.schema()} for kind in (JSON, FORM)}}


_JOB = {**_json("The job.", _ref("Job")), "links": _JOB_LINKS}

PATHS: dict[str, dict[str, Any]] = {
    "/api/download": {
        "post": op(
            "Start a job (server mode needs the admin); an active duplicate is returned instead.",
            _JOB,
            {**PAGE_ERRORS, 401: UNAUTHORIZED, 413: TOO_LARGE, 429: LIMIT},
            status=202,
            body=_body(JOB_REQUEST, JSON, FORM),
        )
    },
    "/api/extension/pair": {
        "post": op(
            "A browser extension listed in AUDIOFETCH_CORS_ORIGINS gets a long-lived token.",
            _json("Paired.", TOKEN),
            {403: "Not a listed browser extension, or cross-site."},
        )
    },
    "/api/page": {
        "post": op(
            "Start a browser-mode job for a page as the user's browser shows it.",
            _JOB,
            {
                400: "Missing or malformed field.",
                401: "No valid extension (or admin) bearer token.",
                403: "The page address is refused (SSRF guard) or the request is cross-site.",
                413: "The page is over the page size limit (AUDIOFETCH_MAX_PAGE_BYTES).",
                429: LIMIT,
            },
            status=202,
            body=_body(SENT_PAGE, JSON),
            security=[{"extension": []}],
        )
    },
    "/api/status/{id}": {
        "get": op(
            "One job.", _json("The job.", _ref("Job")), {404: NOT_FOUND}, path="id", operation_id="jobStatus"
        )
    },
    "/api/jobs": {
        "get": op(
            "Jobs, newest first: the admin sees all, a visitor its own.",
            _json(
                "The jobs.",
                {"type": "object", "properties": {"jobs": {"type": "array", "items": _ref("Job")}}},
            ),
            {400: "Bad limit or offset."},
            query=JOB_LIST_QUERY,
        )
    },
    "/api/jobs/{id}": {
        "delete": op(
            "Delete a finished job.",
            _json("Deleted.", _OBJECT),
            {**JOB_ERRORS, 409: "The job is still active."},
            path="id",
            operation_id="deleteJob",
        )
    },
    "/api/jobs/{id}/cancel": {
        "post": op(
            "Cancel a job.", _json("The job.", _ref("Job")), JOB_ERRORS, path="id", operation_id="cancelJob"
        )
    },
    "/api/jobs/{id}/retry": {
        "post": op(
            "Retry the failed tracks.",
            _json("The job.", _ref("Job")),
            {**JOB_ERRORS, 400: "The job has no failed tracks.", 409: "The job is still active."},
            path="id",
            operation_id="retryJob",
        )
    },
    "/api/stream/{id}": {
        "get": op(
            "Stream a browser-mode job's ZIP; the downloads run while it is sent.",
            _ZIP,
            {
                403: "The analysis met a refused target address (a redirect to one).",
                404: NOT_FOUND,
                409: "Another client is already receiving this stream, or the job has none.",
                422: "No audio was found on the page.",
                502: "The page could not be fetched.",
            },
            path="id",
            operation_id="streamJob",
        )
    },
    "/zip": {
        "get": op(
            "Analyse a page and stream its ZIP in the same response (for curl -OJ).",
            _ZIP,
            {**PAGE_ERRORS, 409: "Stream busy.", 429: LIMIT},
            query=ZIP_QUERY,
        )
    },
    "/api/preview": {
        "get": op(
            "The tracks found on a page, without starting a job.",
            _json("What the page holds.", _ref("Detection")),
            PAGE_ERRORS,
            query=PREVIEW_QUERY,
        )
    },
    "/api/events": {
        "get": op(
            "Server-Sent Events of jobs (`: ping` comments between events).",
            {
                "description": "text/event-stream; each data line holds an Event.",
                "content": {"text/event-stream": {"schema": _ref("Event")}},
            },
            {400: "A parameter over 64 characters.", 403: "Cross-site handshake."},
            query=EVENTS_QUERY,
        )
    },
    "/ws": {
        "get": op(
            "WebSocket carrying the same events as /api/events, one JSON text message each.",
            {"description": "Switching to the WebSocket protocol."},
            {400: "Not a WebSocket handshake, or a parameter over 64 characters.", 403: "Cross-site."},
            status=101,
            query=EVENTS_QUERY,
        )
    },
    "/api/auth/login": {
        "post": op(
            "Log in as admin: sets the session cookie and returns a bearer token.",
            _json("Logged in.", TOKEN),
            {
                400: "No password.",
                401: "Wrong password.",
                403: CROSS_SITE,
                413: TOO_LARGE,
                429: "Too many attempts.",
            },
            body=_inline_body(LOGIN),
        )
    },
    "/api/auth/logout": {
        "post": op(
            "Revoke the bearer token or the session's token.",
            _json("Logged out.", _OBJECT),
            {403: CROSS_SITE},
        )
    },
    "/api/auth/me": {
        "get": op(
            "Whether the requester is the admin.",
            _json(
                "Who.",
                {
                    "type": "object",
                    "properties": {
                        "admin": {"type": "boolean"},
                        "via": {"type": "string"},
                        "expires_at": {"type": ["number", "null"]},
                    },
                },
            ),
            {},
        )
    },
    "/api/downloads": {
        "get": op(
            "Server-mode download folders (admin).",
            _json(
                "Folders.",
                {"type": "object", "properties": {"downloads": {"type": "array", "items": _ref("Download")}}},
            ),
            {401: UNAUTHORIZED},
            security=_ADMIN,
        )
    },
    "/api/downloads/{name}": {
        "delete": op(
            "Delete a download folder (admin).",
            _json("Deleted.", _OBJECT),
            {400: "Bad name.", 401: UNAUTHORIZED, 403: CROSS_SITE, 404: "No such folder.", 409: BUSY},
            path="name",
            security=_ADMIN,
        )
    },
    "/api/downloads/{name}/zip": {
        "get": op(
            "A download folder as a streamed ZIP (admin).",
            _ZIP,
            {400: "Bad name.", 401: UNAUTHORIZED, 404: "No such folder.", 409: BUSY},
            path="name",
            security=_ADMIN,
        )
    },
    "/api/openapi.json": {"get": op("This document.", _json("OpenAPI 3.1.", _OBJECT), {})},
}
