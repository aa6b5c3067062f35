"""API tokens over HTTP: the bearer middleware, the admin's JSON routes and the admin page.

``api_token_middleware`` runs after the session middleware: a request whose ``Authorization: Bearer``
value is an API token (``afk_...``) is either that token's identity for the whole request (every
route, ``/zip`` and the live events included, since they all ask ``identify``) or answered 401 at once
when the token is unknown or revoked. Login tokens (``af1...``) keep their own path in ``_login``.

Routes (admin only): ``GET/POST /api/admin/tokens``, ``DELETE /api/admin/tokens/{id}``, and the page
``/admin/tokens`` with its create and revoke forms (CSRF-checked like every form).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp_jinja2
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from audiofetch.errors import BadRequestError
from audiofetch.web._apitokens import (
    TOKENS_FILE,
    ApiToken,
    ApiTokenStore,
    is_api_token,
    token_kind,
    token_name,
)
from audiofetch.web._forms import FormError, csrf_token, error_page, read_form
from audiofetch.web._keys import SETTINGS_KEY, wall_clock
from audiofetch.web._login import Identity, identify, read_body, remember_identity, require_admin
from audiofetch.web._middlewares import api_error
from audiofetch.web._paths import local_url

__all__ = ["API_TOKENS_KEY", "api_token_middleware", "api_tokens_ctx", "setup_api_tokens"]

API_TOKENS_KEY: web.AppKey[ApiTokenStore] = web.AppKey("api_tokens", ApiTokenStore)
# The requests each token has in progress (event streams, WebSockets, ZIPs), so revoking ends them too.
# (A request is a mapping, so not hashable: they are kept by id.)
_IN_PROGRESS: web.AppKey[dict[str, dict[int, web.Request]]] = web.AppKey("api_token_requests", dict)
_REFUSED = "this API token is unknown or was revoked; ask the admin for a new one"


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


@web.middleware
async def api_token_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who an API-token request is, decided once before the handler; 401 for a token not (or no
    longer) in the store, so a revoked token never falls back to anonymous rights."""
    token = _bearer(request)
    if token is not None and is_api_token(token):
        found = request.app[API_TOKENS_KEY].check(token)
        if found is None:
            raise api_error(
                web.HTTPUnauthorized,
                _REFUSED,
                headers={hdrs.WWW_AUTHENTICATE: 'Bearer error="invalid_token"'},
            )
        remember_identity(request, Identity(found.client_id, found.admin, "bearer"))
        running = request.app[_IN_PROGRESS].setdefault(found.id, {})
        running[id(request)] = request
        try:
            return await handler(request)
        finally:
            running.pop(id(request), None)
    return await handler(request)


async def _revoke(request: web.Request, token_id: str) -> ApiToken | None:
    """Revoke ``token_id`` and cut the connections of its requests still in progress (a live event
    stream or a ZIP would otherwise go on with the rights it no longer has); never the asking one."""
    record = await asyncio.to_thread(request.app[API_TOKENS_KEY].revoke, token_id)
    for running in request.app[_IN_PROGRESS].pop(token_id, {}).values():
        if running is not request and running.transport is not None:
            running.transport.close()
    return record


# -- JSON routes ----------------------------------------------------------------------------------------


async def _create(request: web.Request, name: object, kind: object) -> tuple[ApiToken, str]:
    store = request.app[API_TOKENS_KEY]
    chosen_name, chosen_kind = token_name(name), token_kind(kind)
    return await asyncio.to_thread(store.create, chosen_name, chosen_kind, wall_clock(request.app))


async def list_tokens(request: web.Request) -> web.Response:
    """``GET /api/admin/tokens``: every token's id, name, kind and creation time (never the token)."""
    await require_admin(request)
    tokens = request.app[API_TOKENS_KEY].list()
    return web.json_response({"tokens": [token.to_json() for token in tokens]})


async def create_token(request: web.Request) -> web.Response:
    """``POST /api/admin/tokens`` ``{"name", "kind"}``: 201 with the token, shown this once."""
    await require_admin(request)
    body = await read_body(request)
    record, secret = await _create(request, body.get("name"), body.get("kind"))
    return web.json_response({**record.to_json(), "token": secret}, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    """``DELETE /api/admin/tokens/{id}``: refused from the next request on, its requests in progress
    cut; 404 when unknown."""
    await require_admin(request)
    token_id = request.match_info["id"]
    record = await _revoke(request, token_id)
    if record is None:
        raise api_error(web.HTTPNotFound, f"there is no API token {token_id}")
    return web.json_response({"id": record.id, "revoked": True})


# -- the admin page -------------------------------------------------------------------------------------


async def _page(
    request: web.Request, *, status: int = 200, created: tuple[ApiToken, str] | None = None, error: str = ""
) -> web.Response:
    context = {
        "admin": True,
        "csrf_token": await csrf_token(request),
        "tokens": request.app[API_TOKENS_KEY].list(),
        "created": created[0] if created else None,
        "created_secret": created[1] if created else "",
        "error": error,
    }
    return aiohttp_jinja2.render_template("admin_tokens.html", request, context, status=status)


async def _admin_or_page(request: web.Request) -> web.Response | None:
    if (await identify(request)).admin:
        return None
    return await error_page(request, "Only the admin manages API tokens: log in as admin first.", 401)


async def tokens_page(request: web.Request) -> web.Response:
    """``GET /admin/tokens``: the list, the create form and a revoke button per token."""
    return await _admin_or_page(request) or await _page(request)


async def tokens_page_create(request: web.Request) -> web.Response:
    """``POST /admin/tokens``: make a token and show it once on the page that answers."""
    refused = await _admin_or_page(request)
    if refused is not None:
        return refused
    try:
        form = await read_form(request)
    except FormError as exc:
        return await error_page(request, exc.message, exc.status)
    try:
        created = await _create(request, form.get("name"), form.get("kind"))
    except BadRequestError as exc:
        return await _page(request, status=400, error=exc.user_message)
    return await _page(request, status=201, created=created)


async def tokens_page_revoke(request: web.Request) -> web.StreamResponse:
    """``POST /admin/tokens/{id}/revoke``: revoke, then back to the list."""
    refused = await _admin_or_page(request)
    if refused is not None:
        return refused
    try:
        await read_form(request)
    except FormError as exc:
        return await error_page(request, exc.message, exc.status)
    await _revoke(request, request.match_info["id"])
    raise web.HTTPSeeOther(local_url(request, "/admin/tokens"))


async def api_tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the saved tokens at start-up (a missing file: none yet)."""
    path = app[SETTINGS_KEY].data_dir / TOKENS_FILE
    app[API_TOKENS_KEY] = await asyncio.to_thread(ApiTokenStore.load, path)
    yield


def setup_api_tokens(app: web.Application, *, services: bool = True) -> None:
    """Install the bearer middleware (after the session's), the routes, and the loading of the store.

    Without ``services`` the store stays empty and in memory (tests of the HTTP layer alone).
    """
    app[API_TOKENS_KEY] = ApiTokenStore()
    app[_IN_PROGRESS] = {}
    app.middlewares.append(api_token_middleware)
    router = app.router
    router.add_get("/api/admin/tokens", list_tokens, name="api.admin.tokens")
    router.add_post("/api/admin/tokens", create_token, name="api.admin.tokens.create")
    router.add_delete("/api/admin/tokens/{id}", revoke_token, name="api.admin.tokens.revoke")
    router.add_get("/admin/tokens", tokens_page, name="admin.tokens")
    router.add_post("/admin/tokens", tokens_page_create, name="admin.tokens.create")
    router.add_post("/admin/tokens/{id}/revoke", tokens_page_revoke, name="admin.tokens.revoke")
    if services:
        app.cleanup_ctx.append(api_tokens_ctx)
