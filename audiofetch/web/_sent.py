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
from typing import Any

from aiohttp import hdrs, web

from audiofetch.detect import GivenPage
from audiofetch.errors import AccessError, AuthRequired, BadRequestError
from audiofetch.web._auth import issue_token, verify_token
from audiofetch.web._contract import SENT_PAGE, job_answer, spec_of, token_answer
from audiofetch.web._csrf import normalize_origin
from audiofetch.web._keys import (
    KEYRING_KEY,
    REVOCATIONS_KEY,
    RUNNER_KEY,
    SETTINGS_KEY,
    wall_clock,
    web_options,
)
from audiofetch.web._login import ADMIN_SUBJECT, json_object, session_client_id
from audiofetch.web._paths import local_url
from audiofetch.web._throttle import client_key

__all__ = ["EXTENSION_SUBJECT", "PAIRING_TTL_SECONDS", "setup_sent_pages"]

EXTENSION_SUBJECT = "extension"  # the token's subject is "extension:<client id>"
PAIRING_TTL_SECONDS = 180 * 24 * 3600.0
_EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://")


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
        raise AccessError(
            "only a browser extension listed in AUDIOFETCH_CORS_ORIGINS can pair with this server"
        )
    client = await session_client_id(request)
    now = wall_clock(request.app)
    subject = f"{EXTENSION_SUBJECT}:{client}"
    token = issue_token(request.app[KEYRING_KEY].token, subject, PAIRING_TTL_SECONDS, now)
    return token_answer(token, now + PAIRING_TTL_SECONDS)


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
        raise AuthRequired("pair the browser extension first (POST /api/extension/pair), then send its token")
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
    return await asyncio.to_thread(json_object, bytes(data))


async def send_page(request: web.Request) -> web.Response:
    """``POST /api/page``: start a browser-mode job for a page as the user's browser showed it; 202."""
    client = _paired_client(request)
    settings = request.app[SETTINGS_KEY]
    fields = SENT_PAGE.read(await _read_json(request, 2 * settings.max_page_bytes + 1024 * 1024))
    html: str = fields["html"]
    size = len(html) if len(html) > settings.max_page_bytes else len(html.encode("utf-8", "surrogatepass"))
    if size > settings.max_page_bytes:
        raise _too_large(
            f"the page sent is larger than the {settings.max_page_bytes} byte page limit",
            settings.max_page_bytes,
            size,
        )
    spec = spec_of(fields, client, mode="browser")
    given = GivenPage(url=spec.url, html=html, title=fields["title"] or None, media_urls=fields["media"])
    job, _ = await request.app[RUNNER_KEY].submit(
        spec, address=client_key(request.remote), given=given, cookies=fields["cookies"]
    )
    response = job_answer(job, status=202, duplicate=False)
    response.headers["Location"] = local_url(request, f"/api/status/{job.id}")
    return response


def setup_sent_pages(app: web.Application) -> None:
    """Register ``/api/extension/pair`` and ``/api/page``."""
    app.router.add_post("/api/extension/pair", pair, name="api.extension.pair")
    app.router.add_post("/api/page", send_page, name="api.page")
