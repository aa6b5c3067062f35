"""The OpenAPI 3.1 description of the JSON API, served at ``GET /api/openapi.json``.

Kept as Python data next to the routes; ``tests/web/test_openapi.py`` fails when a route and the
document disagree (a route missing from it, or a documented path no route serves).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from audiofetch import __version__
from audiofetch.web._paths import base_path

__all__ = ["openapi_document", "setup_openapi"]

JSON = "application/json"
_ref = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
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
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
_ZIP = {
    "description": "The ZIP archive, streamed while it is written (Content-Length when known).",
    "content": {"application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}},
}
_NOT_FOUND = _error("No job has this id.")
_UNAUTHORIZED = _error("Admin login or a valid bearer token is required.")
_FORBIDDEN = _error("Cross-site request, someone else's job, or a refused target address.")
_LIMIT = {**_error("Too many jobs in flight or queued."), "headers": _RETRY_AFTER}
# Every POST and DELETE, and the /ws and /api/events handshakes, are refused from another site.
_CROSS_SITE = _error("Cross-site request (Origin / Sec-Fetch-Site), or a session cookie without them.")
_TOO_LARGE = _error("The request body is over 64 KiB.")

_PAGE_ERRORS = {
    "400": _error("Missing or malformed field."),
    "403": _error("The target address is refused (SSRF guard) or the request is cross-site."),
    "422": _error("No audio found on the page."),
    "502": _error("The page could not be fetched."),
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "One line for a person."},
            "looked_for": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Only when no audio was found: the conventions that were looked for.",
            },
        },
    },
    "JobRequest": {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "format": "uri",
                "maxLength": 4096,
                "description": "The page holding the audio (http or https).",
            },
            "name": {
                "type": "string",
                "maxLength": 200,
                "description": "Folder or ZIP name; the page title if absent.",
            },
            "mode": {"type": "string", "enum": ["browser", "server"], "default": "browser"},
            "plugin": {
                "type": "string",
                "maxLength": 64,
                "description": "Extractor name, or auto.",
                "default": "auto",
            },
            "workers": {"type": "integer", "minimum": 1, "maximum": 20},
            "prefer": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "string", "pattern": "^[A-Za-z0-9]{1,10}$"},
                "description": "Formats, best first.",
            },
            "tags": {
                "type": "boolean",
                "default": True,
                "description": "Write the page's tags and cover into the files; false leaves them as sent "
                "(forms: tags=off). The playlist is written either way.",
            },
            "render": {
                "type": "string",
                "enum": ["auto", "always", "never"],
                "description": "Run the page's scripts in headless Chromium (the render pass); absent: the "
                "server's AUDIOFETCH_RENDER.",
            },
        },
    },
    "SentPage": {
        "type": "object",
        "required": ["url", "html"],
        "properties": {
            "url": {
                "type": "string",
                "format": "uri",
                "maxLength": 4096,
                "description": "The page's address.",
            },
            "html": {"type": "string", "minLength": 1, "description": "The rendered DOM, serialised."},
            "title": {"type": "string", "maxLength": 1000},
            "media": {
                "type": "array",
                "maxItems": 2000,
                "items": {"type": "string", "maxLength": 4096},
                "description": "Media URLs the tab requested, in order.",
            },
            "cookies": {
                "type": "array",
                "maxItems": 300,
                "description": "Only when the user ticked the box: used for this job's downloads, kept in "
                "memory, dropped when the job ends.",
                "items": {
                    "type": "object",
                    "required": ["name", "value", "domain"],
                    "properties": {
                        "name": {"type": "string"},
                        "value": {"type": "string"},
                        "domain": {"type": "string"},
                        "path": {"type": "string"},
                        "secure": {"type": "boolean"},
                        "hostOnly": {"type": "boolean"},
                    },
                },
            },
            "name": {"type": "string", "maxLength": 200},
            "plugin": {"type": "string", "maxLength": 64},
            "workers": {"type": "integer", "minimum": 1, "maximum": 20},
            "prefer": {"type": "array", "maxItems": 10, "items": {"type": "string"}},
            "tags": {"type": "boolean", "default": True},
        },
    },
    "Track": {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "url": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["pending", "downloading", "done", "failed", "skipped"]},
            "bytes_done": {"type": "integer"},
            "size": {"type": ["integer", "null"]},
            "file_name": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "url", "mode", "status", "active", "totals", "tracks"],
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "mode": {"type": "string", "enum": ["browser", "server"]},
            "plugin": {"type": ["string", "null"]},
            "workers": {"type": ["integer", "null"]},
            "prefer": {"type": "array", "items": {"type": "string"}},
            "selected": {"type": ["array", "null"], "items": {"type": "integer"}},
            "tags": {"type": "boolean"},
            "render": {"type": ["string", "null"], "enum": ["auto", "always", "never", None]},
            "status": {
                "type": "string",
                "enum": ["queued", "analyzing", "ready", "downloading", "completed", "failed", "cancelled"],
            },
            "active": {"type": "boolean"},
            "error": {"type": ["string", "null"]},
            "looked_for": {
                "type": ["array", "null"],
                "items": {"type": "string"},
                "description": "When no audio was found: the conventions that were looked for.",
            },
            "title": {"type": ["string", "null"]},
            "player": {"type": ["string", "null"]},
            "created_at": {"type": "number"},
            "updated_at": {"type": "number"},
            "totals": {
                "type": "object",
                "properties": {
                    "tracks": {"type": "integer"},
                    "tracks_done": {"type": "integer"},
                    "tracks_failed": {"type": "integer"},
                    "bytes_done": {"type": "integer"},
                    "bytes_total": {"type": ["integer", "null"]},
                },
            },
            "tracks": {"type": "array", "items": _schema("Track")},
            "duplicate": {"type": "boolean", "description": "Only on creation: an active job was reused."},
        },
    },
    "Detection": {
        "type": "object",
        "properties": {
            "page_url": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "player": {"type": ["string", "null"]},
            "tracks": {"type": "array", "items": {"type": "object"}},
            "skipped": {"type": "array", "items": {"type": "object"}},
            "notes": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What detection left undone (a page whose scripts outlast its budget).",
            },
        },
    },
    "Event": {
        "type": "object",
        "description": "Sent as SSE data and as WebSocket text messages.",
        "properties": {
            "id": {"type": "integer"},
            "type": {
                "type": "string",
                "enum": [
                    "job.created",
                    "job.status",
                    "job.tracks",
                    "track.progress",
                    "job.completed",
                    "job.deleted",
                    "job.snapshot",
                ],
            },
            "job_id": {"type": "string"},
            "data": {"type": "object"},
        },
    },
    "Download": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "modified": {"type": "number"},
            "files": {"type": "integer"},
        },
    },
}

_BODY = {
    "required": True,
    "content": {
        JSON: {"schema": _schema("JobRequest")},
        "application/x-www-form-urlencoded": {"schema": _schema("JobRequest")},
    },
}
_LOGIN_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string", "minLength": 1}},
            }
        }
        for media in (JSON, "application/x-www-form-urlencoded")
    },
}
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]


def _query(
    name: str, description: str, *, required: bool = False, kind: str = "string", **limits: Any
) -> dict[str, Any]:
    """A query parameter; ``limits`` are JSON Schema keywords (format, maxLength, minimum, maximum)."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": kind, **limits},
    }


def _job_op(operation_id: str, summary: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
    responses = {"200": ok, "403": _error("Someone else's job, or a cross-site request."), "404": _NOT_FOUND}
    responses.update(extra)
    return {"operationId": operation_id, "summary": summary, "parameters": [_JOB_ID], "responses": responses}


_PATHS: dict[str, Any] = {
    "/api/download": {
        "post": {
            "summary": "Start a job (server mode needs the admin); an active duplicate is returned instead.",
            "requestBody": _BODY,
            "responses": {
                "202": {**_json("The job.", _schema("Job")), "links": _JOB_LINKS},
                **_PAGE_ERRORS,
                "401": _UNAUTHORIZED,
                "413": _TOO_LARGE,
                "429": _LIMIT,
            },
        }
    },
    "/api/extension/pair": {
        "post": {
            "summary": "A browser extension listed in AUDIOFETCH_CORS_ORIGINS gets a long-lived token.",
            "responses": {
                "200": _json(
                    "Paired.",
                    {
                        "type": "object",
                        "properties": {
                            "token": {"type": "string"},
                            "token_type": {"type": "string"},
                            "expires_at": {"type": "number"},
                        },
                    },
                ),
                "403": _error("Not a listed browser extension, or cross-site."),
            },
        }
    },
    "/api/page": {
        "post": {
            "summary": "Start a browser-mode job for a page as the user's browser shows it.",
            "security": [{"extension": []}],
            "requestBody": {"required": True, "content": {JSON: {"schema": _schema("SentPage")}}},
            "responses": {
                "202": {**_json("The job.", _schema("Job")), "links": _JOB_LINKS},
                "400": _error("Missing or malformed field."),
                "401": _error("No valid extension (or admin) bearer token."),
                "403": _error("The page address is refused (SSRF guard) or the request is cross-site."),
                "413": _error("The page is over the page size limit (AUDIOFETCH_MAX_PAGE_BYTES)."),
                "429": _LIMIT,
            },
        }
    },
    "/api/status/{id}": {
        "get": {
            "operationId": "jobStatus",
            "summary": "One job.",
            "parameters": [_JOB_ID],
            "responses": {"200": _json("The job.", _schema("Job")), "404": _NOT_FOUND},
        }
    },
    "/api/jobs": {
        "get": {
            "summary": "Jobs, newest first: the admin sees all, a visitor its own.",
            "parameters": [
                _query("limit", "At most 200.", kind="integer", minimum=0, maximum=200),
                _query("offset", "Skip.", kind="integer", minimum=0, maximum=1_000_000),
            ],
            "responses": {
                "200": _json(
                    "The jobs.",
                    {"type": "object", "properties": {"jobs": {"type": "array", "items": _schema("Job")}}},
                ),
                "400": _error("Bad limit or offset."),
            },
        }
    },
    "/api/jobs/{id}": {
        "delete": _job_op(
            "deleteJob",
            "Delete a finished job.",
            _json("Deleted.", {"type": "object"}),
            **{"409": _error("The job is still active.")},
        )
    },
    "/api/jobs/{id}/cancel": {
        "post": _job_op("cancelJob", "Cancel a job.", _json("The job.", _schema("Job")))
    },
    "/api/jobs/{id}/retry": {
        "post": _job_op(
            "retryJob",
            "Retry the failed tracks.",
            _json("The job.", _schema("Job")),
            **{"400": _error("The job has no failed tracks."), "409": _error("The job is still active.")},
        )
    },
    "/api/stream/{id}": {
        "get": {
            "operationId": "streamJob",
            "summary": "Stream a browser-mode job's ZIP; the downloads run while it is sent.",
            "parameters": [_JOB_ID],
            "responses": {
                "200": _ZIP,
                "403": _error("The analysis met a refused target address (a redirect to one)."),
                "404": _NOT_FOUND,
                "409": _error("Another client is already receiving this stream, or the job has none."),
                "422": _error("No audio was found on the page."),
                "502": _error("The page could not be fetched."),
            },
        }
    },
    "/zip": {
        "get": {
            "summary": "Analyse a page and stream its ZIP in the same response (for curl -OJ).",
            "parameters": [
                _query("url", "The page.", required=True, format="uri", maxLength=4096),
                _query("name", "ZIP name."),
                _query("plugin", "Extractor name, or auto."),
                _query("workers", "Parallel downloads.", kind="integer", minimum=1, maximum=20),
                _query("tags", "off (or false) leaves the MP3s untagged; the playlist is still added."),
                _query("render", "auto, always or never: run the page's scripts (render pass)."),
            ],
            "responses": {"200": _ZIP, **_PAGE_ERRORS, "409": _error("Stream busy."), "429": _LIMIT},
        }
    },
    "/api/preview": {
        "get": {
            "summary": "The tracks found on a page, without starting a job.",
            "parameters": [
                _query("url", "The page.", required=True, format="uri", maxLength=4096),
                _query("plugin", "Extractor name, or auto."),
                _query("prefer", "Formats, comma-separated, best first."),
                _query("render", "auto, always or never: run the page's scripts (render pass)."),
            ],
            "responses": {"200": _json("What the page holds.", _schema("Detection")), **_PAGE_ERRORS},
        }
    },
    "/api/events": {
        "get": {
            "summary": "Server-Sent Events of jobs (`: ping` comments between events).",
            "parameters": [
                _query("job", "Only this job's events.", maxLength=64),
                _query("last_event_id", "Resume after this id (or the Last-Event-ID header).", maxLength=64),
            ],
            "responses": {
                "200": {
                    "description": "text/event-stream; each data line holds an Event.",
                    "content": {"text/event-stream": {"schema": _schema("Event")}},
                },
                "400": _error("A parameter over 64 characters."),
                "403": _error("Cross-site handshake."),
            },
        }
    },
    "/ws": {
        "get": {
            "summary": "WebSocket carrying the same events as /api/events, one JSON text message each.",
            "parameters": [
                _query("job", "Only this job's events.", maxLength=64),
                _query("last_event_id", "Resume point.", maxLength=64),
            ],
            "responses": {
                "101": {"description": "Switching to the WebSocket protocol."},
                "400": _error("Not a WebSocket handshake, or a parameter over 64 characters."),
                "403": _error("Cross-site."),
            },
        }
    },
    "/api/auth/login": {
        "post": {
            "summary": "Log in as admin: sets the session cookie and returns a bearer token.",
            "requestBody": _LOGIN_BODY,
            "responses": {
                "200": _json(
                    "Logged in.",
                    {
                        "type": "object",
                        "properties": {
                            "token": {"type": "string"},
                            "token_type": {"type": "string"},
                            "expires_at": {"type": "number"},
                        },
                    },
                ),
                "400": _error("No password."),
                "401": _error("Wrong password."),
                "403": _CROSS_SITE,
                "413": _TOO_LARGE,
                "429": {**_error("Too many attempts."), "headers": _RETRY_AFTER},
            },
        }
    },
    "/api/auth/logout": {
        "post": {
            "summary": "Revoke the bearer token or the session's token.",
            "responses": {"200": _json("Logged out.", {"type": "object"}), "403": _CROSS_SITE},
        }
    },
    "/api/auth/me": {
        "get": {
            "summary": "Whether the requester is the admin.",
            "responses": {
                "200": _json(
                    "Who.",
                    {
                        "type": "object",
                        "properties": {
                            "admin": {"type": "boolean"},
                            "via": {"type": "string"},
                            "expires_at": {"type": ["number", "null"]},
                        },
                    },
                )
            },
        }
    },
    "/api/downloads": {
        "get": {
            "summary": "Server-mode download folders (admin).",
            "security": _ADMIN,
            "responses": {
                "200": _json(
                    "Folders.",
                    {
                        "type": "object",
                        "properties": {"downloads": {"type": "array", "items": _schema("Download")}},
                    },
                ),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/api/downloads/{name}": {
        "delete": {
            "summary": "Delete a download folder (admin).",
            "security": _ADMIN,
            "parameters": [_NAME],
            "responses": {
                "200": _json("Deleted.", {"type": "object"}),
                "400": _error("Bad name."),
                "401": _UNAUTHORIZED,
                "403": _CROSS_SITE,
                "404": _error("No such folder."),
            },
        }
    },
    "/api/downloads/{name}/zip": {
        "get": {
            "summary": "A download folder as a streamed ZIP (admin).",
            "security": _ADMIN,
            "parameters": [_NAME],
            "responses": {
                "200": _ZIP,
                "400": _error("Bad name."),
                "401": _UNAUTHORIZED,
                "404": _error("No such folder."),
            },
        }
    },
    "/api/openapi.json": {
        "get": {"summary": "This document.", "responses": {"200": _json("OpenAPI 3.1.", {"type": "object"})}}
    },
}


# -- API tokens (web/_tokenroutes.py): the admin's routes and the scheme every route accepts ------------
# One separate block, to be ported as it is into the document generated from the request/response models.

_API_TOKEN_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "A long-lived API token (afk_...) the admin made at /admin/tokens: accepted on every API route, "
        "/api/events and /zip. Kind 'browser': a visitor's rights with its own jobs and job limits; kind "
        "'admin': the admin's. An unknown or revoked token is answered 401."
    ),
}
_TOKEN_ADMIN: list[dict[str, list[str]]] = [{"apiToken": []}, {"bearer": []}, {"cookie": []}]
_TOKEN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_API_TOKEN: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "kind", "created_at"],
    "properties": {
        "id": {"type": "string", "description": "12 hex digits; names the token, is not the token."},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["browser", "admin"]},
        "created_at": {"type": "number", "description": "Unix seconds."},
    },
}
_API_TOKEN_PATHS: dict[str, Any] = {
    "/api/admin/tokens": {
        "get": {
            "summary": "The API tokens, by name (admin); never the tokens themselves.",
            "security": _TOKEN_ADMIN,
            "responses": {
                "200": _json(
                    "Tokens.",
                    {"type": "object", "properties": {"tokens": {"type": "array", "items": _API_TOKEN}}},
                ),
                "401": _UNAUTHORIZED,
            },
        },
        "post": {
            "summary": "Make an API token (admin); the answer is the only time it is shown.",
            "security": _TOKEN_ADMIN,
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1, "maxLength": 80},
                                "kind": {
                                    "type": "string",
                                    "enum": ["browser", "admin"],
                                    "default": "browser",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json(
                    "The token.",
                    {
                        **_API_TOKEN,
                        "required": [*_API_TOKEN["required"], "token"],
                        "properties": {**_API_TOKEN["properties"], "token": {"type": "string"}},
                    },
                ),
                "400": _error("Missing name, unknown kind, or too many tokens."),
                "401": _UNAUTHORIZED,
                "403": _CROSS_SITE,
                "413": _TOO_LARGE,
            },
        },
    },
    "/api/admin/tokens/{id}": {
        "delete": {
            "summary": "Revoke an API token (admin): refused from the next request on.",
            "security": _TOKEN_ADMIN,
            "parameters": [_TOKEN_ID],
            "responses": {
                "200": _json("Revoked.", {"type": "object"}),
                "401": _UNAUTHORIZED,
                "403": _CROSS_SITE,
                "404": _error("No such token."),
            },
        }
    },
}


# aiohttp's HTTP parser answers a request line or header over 8 KiB itself, before any middleware, so
# that 400 is plain text; every operation can get it (a long query, id or name).
_PARSER_400 = {"text/plain": {"schema": {"type": "string"}}}


def _with_parser_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``paths`` where every operation's 400 also allows the parser's plain-text answer."""
    paths = copy.deepcopy(paths)
    for item in paths.values():
        for operation in item.values():
            bad = operation["responses"].setdefault("400", {"description": "Malformed request."})
            bad["content"] = {**bad.get("content", {}), **_PARSER_400}
    return paths


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AudioFetch API",
            "version": __version__,
            "description": 'Give it a web page, get every audio track on it. Errors are {"error": "..."}.',
        },
        "paths": _with_parser_errors({**_PATHS, **_API_TOKEN_PATHS}),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token from POST /api/auth/login.",
                },
                "cookie": {"type": "apiKey", "in": "cookie", "name": "AUDIOFETCH_SESSION"},
                "apiToken": _API_TOKEN_SCHEME,
                "extension": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token from POST /api/extension/pair (a paired browser extension).",
                },
            },
        },
    }


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
