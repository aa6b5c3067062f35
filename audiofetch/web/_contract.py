"""The HTTP contract, stated once: what each route reads and what it answers.

The request models check the input (the handlers and the pages both read through them) and describe it
in the OpenAPI document (``_openapi``); the response schemas describe the JSON answers built here. Limits
that are settings (the worker range) come from the settings table in ``audiofetch.config``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from audiofetch.config import RENDER_MODES, setting_range
from audiofetch.detect import MAX_MEDIA_URLS
from audiofetch.jobs import EVENT_TYPES, JOB_STATUSES, TRACK_STATUSES, Job, JobMode, JobSpec
from audiofetch.models import Detection
from audiofetch.net import JobCookie, JobCookies
from audiofetch.web._fields import Choice, Field, Formats, Model, Schema, Strings, Switch, Text, Whole

__all__ = [
    "EVENTS_QUERY",
    "JOB_LIST_QUERY",
    "JOB_REQUEST",
    "LOGIN",
    "MAX_BODY_BYTES",
    "MAX_URL_CHARS",
    "MODE",
    "PREVIEW_QUERY",
    "SCHEMAS",
    "SENT_PAGE",
    "TOKEN",
    "WORKERS",
    "ZIP_QUERY",
    "detection_json",
    "job_answer",
    "ref",
    "spec_of",
    "shape",
    "token_answer",
]

MAX_BODY_BYTES = 64 * 1024  # the largest request body (JSON, forms) but a sent page's: a few fields
MAX_URL_CHARS = 4096
MAX_COOKIES = 300
_WORKERS = setting_range("workers")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")  # an RFC 6265 token
# Any visible ASCII but ';' and no control characters: nothing can end the Cookie header early.
_COOKIE_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]{0,4096}")
_DOMAIN = re.compile(r"[a-z0-9.\-\[\]:]{1,253}")

# fmt: off
URL = Text(
    name="url", required=True, max_chars=MAX_URL_CHARS, format="uri", doc="The page (http or https)."
)
NAME = Text(name="name", max_chars=200, doc="Folder or ZIP name; the page title if absent.")
MODE = Choice(name="mode", values=("browser", "server"), default="browser")
PLUGIN = Text(name="plugin", max_chars=64, default="auto", doc="Extractor name, or auto.")
WORKERS = Whole(name="workers", low=_WORKERS.low, high=_WORKERS.high, doc="Parallel downloads.")
PREFER = Formats(name="prefer", doc="Formats, best first (in a query: comma-separated).")
TAGS = Switch(
    name="tags", default=True,
    doc="Write the page's tags and cover into the files; false (forms: off) leaves them as sent. "
    "The playlist is written either way.",
)
RENDER = Choice(
    name="render", values=RENDER_MODES, fold=True,
    doc="Run the page's scripts in headless Chromium (the render pass); absent: AUDIOFETCH_RENDER.",
)
JOB_REQUEST = Model("JobRequest", (URL, NAME, MODE, PLUGIN, WORKERS, PREFER, TAGS, RENDER))
ZIP_QUERY = JOB_REQUEST.pick("url", "name", "plugin", "workers", "prefer", "tags", "render")
PREVIEW_QUERY = JOB_REQUEST.pick("url", "plugin", "prefer", "render")
JOB_LIST_QUERY = Model("JobList", (
    Whole(name="limit", low=0, high=200, default=50, doc="At most 200."),
    Whole(name="offset", low=0, high=1_000_000, default=0, doc="Skip."),
))
EVENTS_QUERY = Model("Events", (
    Text(name="job", max_chars=64, raw=True, doc="Only this job's events."),
    Text(name="last_event_id", max_chars=64, raw=True, doc="Resume after this id (or Last-Event-ID)."),
))
LOGIN = Model("Login", (Text(name="password", required=True, raw=True, message="password is required"),))
# fmt: on


@dataclass(frozen=True, kw_only=True)
class Cookies(Field):
    """Cookies as browsers' cookie APIs list them (``name``, ``value``, ``domain``, ``path``, ``secure``,
    ``hostOnly``); None when absent. The error names the first bad one, never its value."""

    def absent(self, value: object) -> bool:
        return value is None

    def check(self, value: object) -> JobCookies:
        if not isinstance(value, list) or len(value) > MAX_COOKIES:
            raise self.problem(f"cookies must be a list of at most {MAX_COOKIES} cookies")
        return JobCookies(self._cookie(number, item) for number, item in enumerate(value, 1))

    def _cookie(self, number: int, item: object) -> JobCookie:
        if not isinstance(item, dict):
            raise self.problem(f"cookie {number} must be an object")
        name, text, domain = item.get("name"), item.get("value"), item.get("domain")
        path, secure, host_only = item.get("path", "/"), item.get("secure", False), item.get("hostOnly", True)
        if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
            raise self.problem(f"cookie {number} has no usable name")
        if not isinstance(text, str) or not _COOKIE_VALUE.fullmatch(text):
            raise self.problem(f"cookie {name} has a value that cannot be sent in a Cookie header")
        if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain.lower().lstrip(".")):
            raise self.problem(f"cookie {name} has no usable domain")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 1024:
            raise self.problem(f"cookie {name} has a path that does not start with /")
        if not isinstance(secure, bool) or not isinstance(host_only, bool):
            raise self.problem(f"cookie {name}: secure and hostOnly must be true or false")
        return JobCookie(name, text, domain.lower().lstrip("."), path, secure, host_only)

    def schema(self) -> Schema:
        kinds = {"name": "string", "value": "string", "domain": "string", "path": "string"}
        properties = {key: {"type": kind} for key, kind in kinds.items()}
        properties |= {"secure": {"type": "boolean"}, "hostOnly": {"type": "boolean"}}
        item = {"type": "object", "required": ["name", "value", "domain"], "properties": properties}
        return self._schema("array", maxItems=MAX_COOKIES, items=item)


SENT_PAGE = Model(
    "SentPage",
    (
        Text(
            name="html", required=True, raw=True,
            message="html is required: the page's serialised document", doc="The rendered DOM, serialised.",
        ),
        Text(
            name="title", max_chars=1000, raw=True,
            message="title must be text of at most 1000 characters",
        ),
        # Accepted in the request; detection keeps the first MAX_MEDIA_URLS.
        Strings(
            name="media", most=4 * MAX_MEDIA_URLS, longest=MAX_URL_CHARS,
            doc="Media URLs the tab requested, in order.",
        ),
        Cookies(
            name="cookies",
            doc="Only when the user ticked the box: used for this job's downloads, kept in memory, dropped "
            "when the job ends.",
        ),
        Text(name="url", required=True, max_chars=MAX_URL_CHARS, format="uri", doc="The page's address."),
        NAME, PLUGIN, WORKERS, PREFER, TAGS,
    ),
)  # fmt: skip


def spec_of(fields: Mapping[str, Any], client_id: str, mode: JobMode | None = None) -> JobSpec:
    """A ``JobSpec`` from fields a model has read (``mode`` and ``render`` may be absent from it)."""
    plugin = fields["plugin"]
    return JobSpec(
        url=fields["url"],
        mode=mode or cast(JobMode, fields["mode"]),
        name=fields["name"],
        plugin=None if plugin in (None, "auto") else plugin,
        workers=fields["workers"],
        prefer=fields["prefer"],
        client_id=client_id,
        tags=fields["tags"],
        render=fields.get("render"),
    )


# -- answers -------------------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A reference to the schema ``name`` of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(values: Any, *, nullable: bool = False) -> Schema:
    return {
        "type": ["string", "null"] if nullable else "string",
        "enum": [*values, *([None] if nullable else [])],
    }


def shape(properties: str, *required: str, **special: Schema) -> Schema:
    """An object schema from ``"name:type name:type? ..."`` (``?``: may be null; ``[type]``: a list of
    them); a property written without a type takes its schema from ``special``."""
    kinds: dict[str, Schema] = {}
    for word in properties.split():
        name, _, kind = word.partition(":")
        nullable, kind = kind.endswith("?"), kind.removesuffix("?")
        schema: Schema = special[name] if not kind else {"type": kind}
        if kind.startswith("["):
            schema = {"type": "array", "items": {"type": kind[1:-1]}}
        if nullable:
            schema = {**schema, "type": [schema["type"], "null"]}
        kinds[name] = schema
    return {"type": "object", **({"required": list(required)} if required else {}), "properties": kinds}


_LOOKED_FOR = "When no audio was found: the conventions that were looked for."
TOKEN = shape("token:string token_type:string expires_at:number")
SCHEMAS: dict[str, Schema] = {
    "Error": shape(
        "error looked_for",
        "error",
        error={"type": "string", "description": "One line for a person."},
        looked_for={"type": "array", "items": {"type": "string"}, "description": _LOOKED_FOR},
    ),
    JOB_REQUEST.name: JOB_REQUEST.schema(),
    SENT_PAGE.name: SENT_PAGE.schema(),
    LOGIN.name: LOGIN.schema(),
    "Track": shape(
        "index:integer url:string title:string? status bytes_done:integer size:integer? file_name:string? "
        "error:string?",
        status=_enum(TRACK_STATUSES),
    ),
    "Job": shape(
        "id:string url:string name:string? mode plugin:string? workers:integer? prefer:[string] "
        "selected:[integer]? tags:boolean render status active:boolean error:string? looked_for:[string]? "
        "title:string? player:string? created_at:number updated_at:number totals tracks duplicate",
        *("id", "url", "mode", "status", "active", "totals", "tracks"),
        mode=_enum(MODE.values),
        render=_enum(RENDER_MODES, nullable=True),
        status=_enum(JOB_STATUSES),
        totals=shape(
            "tracks:integer tracks_done:integer tracks_failed:integer bytes_done:integer bytes_total:integer?"
        ),
        tracks={"type": "array", "items": ref("Track")},
        duplicate={"type": "boolean", "description": "Only on creation: an active job was reused."},
    ),
    "Detection": shape(
        "page_url:string title:string? player:string? tracks:[object] skipped:[object] notes",
        notes={
            "type": "array",
            "items": {"type": "string"},
            "description": "What detection left undone (a page whose scripts outlast its budget).",
        },
    ),
    "Event": {
        **shape("id:integer type job_id:string data:object", type=_enum(EVENT_TYPES)),
        "description": "Sent as SSE data and as WebSocket text messages.",
    },
    "Download": shape("name:string size:integer modified:number files:integer"),
}


def job_answer(job: Job, *, status: int = 200, duplicate: bool | None = None) -> web.Response:
    """The ``Job`` answer (``duplicate`` only on creation)."""
    return web.json_response(job.to_json(duplicate=duplicate), status=status)


def token_answer(token: str, expires_at: float) -> web.Response:
    """The ``TOKEN`` answer of the login and the extension's pairing."""
    return web.json_response({"token": token, "token_type": "Bearer", "expires_at": expires_at})


def detection_json(detection: Detection) -> dict[str, Any]:
    """A detection as the preview shows it (the ``Detection`` schema)."""
    track_keys = ("index", "url", "title", "artist", "album", "duration", "mime", "extractor")
    return {
        "page_url": detection.page_url,
        "title": detection.title,
        "player": detection.player,
        "tracks": [
            {**{key: getattr(track, key) for key in track_keys}, "alternates": list(track.alternates)}
            for track in detection.tracks
        ],
        "skipped": [{"url": item.url, "reason": item.reason} for item in detection.skipped],
        "notes": list(detection.notes),
    }
