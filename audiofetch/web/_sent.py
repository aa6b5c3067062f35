"""Pages sent by the browser extension "as I see it": pairing and ``POST /api/page``.

- ``POST /api/extension/pair``: a browser extension whose origin the admin listed in
  ``AUDIOFETCH_CORS_ORIGINS`` gets a long-lived bearer token (subject ``extension:<client id>``). Only
  that origin can ask (the cross-site middleware refuses other browser origins; no web page can claim
  an extension's origin). The client id is the browser's own (from the AudioFetch session cookie the
  extension's request carries, created if needed), so the jobs the extension sends are that browser's
  jobs: listed and cancelled from its pages, and counted in its per-client limit. The token
  grants nothing else: on every other route it is an anonymous client of its own. It stays valid for
  ``PAIRING_TTL_SECONDS`` or until the server key changes.
- ``POST /api/page`` (that token, or the admin's): the page's address, title, serialised DOM, the media
  URLs the tab loaded, and, only when the user ticked the box for this job, cookies for the tracks'
  sites. Everything in it is untrusted: the DOM gets the page size limit and the parsing budget, every
  URL meets the address guard when it is downloaded, and the usual per-client and per-address job
  limits apply. The cookies go to the runner's memory for this one job and appear nowhere else: not in
  the job store, the job's JSON, the event stream or any log line.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import hdrs, web

from audiofetch.detect import MAX_MEDIA_URLS, GivenPage
from audiofetch.errors import BadRequestError
from audiofetch.net import JobCookie, JobCookies
from audiofetch.web._api import MAX_URL_CHARS, parse_spec
from audiofetch.web._auth import issue_token, verify_token
from audiofetch.web._csrf import normalize_origin
from audiofetch.web._keys import (
    KEYRING_KEY,
    REVOCATIONS_KEY,
    RUNNER_KEY,
    SETTINGS_KEY,
    wall_clock,
    web_options,
)
from audiofetch.web._login import ADMIN_SUBJECT, session_client_id
from audiofetch.web._middlewares import api_error
from audiofetch.web._paths import local_url
from audiofetch.web._throttle import client_key

__all__ = ["EXTENSION_SUBJECT", "PAIRING_TTL_SECONDS", "parse_cookies", "setup_sent_pages"]

EXTENSION_SUBJECT = "extension"  # the token's subject is "extension:<client id>"
PAIRING_TTL_SECONDS = 180 * 24 * 3600.0
MAX_TITLE_CHARS = 1000
MAX_MEDIA_ITEMS = 4 * MAX_MEDIA_URLS  # accepted in the request; detection keeps the first MAX_MEDIA_URLS
MAX_COOKIES = 300
_EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://")
# RFC 6265 token for the name; the value may hold any visible ASCII but ';' (and no control characters,
# so nothing can end the Cookie header early).
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_COOKIE_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]{0,4096}")
_DOMAIN = re.compile(r"[a-z0-9.\-\[\]:]{1,253}")


def _extension_origin(request: web.Request) -> str | None:
    """The request's Origin when it is a browser extension listed in ``AUDIOFETCH_CORS_ORIGINS``."""
    origin = normalize_origin(request.headers.get(hdrs.ORIGIN, ""))
    if origin is None or not origin.startswith(_EXTENSION_SCHEMES):
        return None
    listed = {normalize_origin(item) for item in web_options(request.app).cors_origins}
    return origin if origin in listed else None


async def pair(request: web.Request) -> web.Response:
    """``POST /api/extension/pair``: a bearer token for a listed extension (403 for anyone else)."""
    if _extension_origin(request) is None:
        raise api_error(
            web.HTTPForbidden,
            "only a browser extension listed in AUDIOFETCH_CORS_ORIGINS can pair with this server",
        )
    client = await session_client_id(request)
    now = wall_clock(request.app)
    subject = f"{EXTENSION_SUBJECT}:{client}"
    token = issue_token(request.app[KEYRING_KEY].token, subject, PAIRING_TTL_SECONDS, now)
    return web.json_response(
        {"token": token, "token_type": "Bearer", "expires_at": now + PAIRING_TTL_SECONDS}
    )


def _paired_client(request: web.Request) -> str:
    """The client id a paired extension's (or the admin's) bearer token speaks for; 401 without one."""
    scheme, _, value = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    claims = None
    if scheme.lower() == "bearer":
        app = request.app
        claims = verify_token(
            app[KEYRING_KEY].token, value.strip(), wall_clock(app), revoked=app[REVOCATIONS_KEY]
        )
    if claims is not None and claims.subject == ADMIN_SUBJECT:
        return f"token:{claims.token_id}"
    kind, _, client = claims.subject.partition(":") if claims is not None else ("", "", "")
    if kind != EXTENSION_SUBJECT or not client:
        raise api_error(
            web.HTTPUnauthorized,
            "pair the browser extension first (POST /api/extension/pair), then send its token",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="audiofetch"'},
        )
    return client


def _too_large(message: str, limit: int, size: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, actual_size=size, text=json.dumps({"error": message}), content_type="application/json"
    )


async def _read_json(request: web.Request, limit: int) -> dict[str, Any]:
    """The JSON object body, read up to ``limit`` bytes (413 beyond), parsed off the event loop."""
    if request.content_type != "application/json":
        raise BadRequestError("send the page as JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(f"the page sent is larger than {limit} bytes", limit, request.content_length)
    data = bytearray()
    async for chunk in request.content.iter_chunked(256 * 1024):
        data += chunk
        if len(data) > limit:
            raise _too_large(f"the page sent is larger than {limit} bytes", limit, len(data))
    try:
        body = await asyncio.to_thread(json.loads, bytes(data))
    except (ValueError, RecursionError) as exc:
        raise BadRequestError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object")
    return body


def _strings(body: Mapping[str, Any], key: str, *, most: int, longest: int) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > most:
        raise BadRequestError(f"{key} must be a list of at most {most} addresses")
    if not all(isinstance(item, str) and len(item) <= longest for item in value):
        raise BadRequestError(f"{key} must hold addresses of at most {longest} characters")
    return tuple(value)


def parse_cookies(value: object) -> JobCookies | None:
    """Cookies as browsers' cookie APIs list them (``name``, ``value``, ``domain``, ``path``, ``secure``,
    ``hostOnly``); None when absent. ``BadRequestError`` names the first bad one (never its value)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_COOKIES:
        raise BadRequestError(f"cookies must be a list of at most {MAX_COOKIES} cookies")
    cookies = []
    for number, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise BadRequestError(f"cookie {number} must be an object")
        name, text, domain = item.get("name"), item.get("value"), item.get("domain")
        path, secure, host_only = item.get("path", "/"), item.get("secure", False), item.get("hostOnly", True)
        if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
            raise BadRequestError(f"cookie {number} has no usable name")
        if not isinstance(text, str) or not _COOKIE_VALUE.fullmatch(text):
            raise BadRequestError(f"cookie {name} has a value that cannot be sent in a Cookie header")
        if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain.lower().lstrip(".")):
            raise BadRequestError(f"cookie {name} has no usable domain")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 1024:
            raise BadRequestError(f"cookie {name} has a path that does not start with /")
        if not isinstance(secure, bool) or not isinstance(host_only, bool):
            raise BadRequestError(f"cookie {name}: secure and hostOnly must be true or false")
        cookies.append(JobCookie(name, text, domain.lower().lstrip("."), path, secure, host_only))
    return JobCookies(cookies)


async def send_page(request: web.Request) -> web.Response:
    """``POST /api/page``: start a browser-mode job for a page as the user's browser showed it; 202."""
    client = _paired_client(request)
    settings = request.app[SETTINGS_KEY]
    body = await _read_json(request, 2 * settings.max_page_bytes + 1024 * 1024)
    html = body.get("html")
    if not isinstance(html, str) or not html.strip():
        raise BadRequestError("html is required: the page's serialised document")
    size = len(html) if len(html) > settings.max_page_bytes else len(html.encode("utf-8", "surrogatepass"))
    if size > settings.max_page_bytes:
        raise _too_large(
            f"the page sent is larger than the {settings.max_page_bytes} byte page limit",
            settings.max_page_bytes,
            size,
        )
    title = body.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE_CHARS):
        raise BadRequestError(f"title must be text of at most {MAX_TITLE_CHARS} characters")
    media = _strings(body, "media", most=MAX_MEDIA_ITEMS, longest=MAX_URL_CHARS)
    cookies = parse_cookies(body.get("cookies"))
    fields = {key: body.get(key) for key in ("url", "name", "plugin", "workers", "prefer", "tags")}
    spec = parse_spec({**fields, "mode": "browser"}, client)
    given = GivenPage(url=spec.url, html=html, title=title or None, media_urls=media)
    job, _ = await request.app[RUNNER_KEY].submit(
        spec, address=client_key(request.remote), given=given, cookies=cookies
    )
    response = web.json_response(job.to_json(duplicate=False), status=202)
    response.headers["Location"] = local_url(request, f"/api/status/{job.id}")
    return response


def setup_sent_pages(app: web.Application) -> None:
    """Register ``/api/extension/pair`` and ``/api/page``."""
    app.router.add_post("/api/extension/pair", pair, name="api.extension.pair")
    app.router.add_post("/api/page", send_page, name="api.page")
