"""Who is asking: the encrypted session cookie, bearer tokens, admin login/logout and ``require_admin``.

The session cookie (aiohttp-session ``EncryptedCookieStorage`` under the KeyRing's cookie key) holds a
random client id (so an anonymous visitor owns the jobs it started), the CSRF secret for the pages, and
after login the same signed token the login returns. Revoking that token at logout therefore also
turns a copied cookie anonymous. A request with an ``Authorization: Bearer`` header is judged by that
header alone, never by the cookie (see ``origin_allowed``).
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp_session
from aiohttp import hdrs, web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from audiofetch.errors import AdminRequired, BadRequestError, LoginThrottled, WrongPassword
from audiofetch.web._auth import TokenClaims, issue_token, verify_token
from audiofetch.web._contract import LOGIN, token_answer
from audiofetch.web._csrf import CSRF_SESSION_KEY, new_csrf_secret
from audiofetch.web._keys import (
    ADMIN_KEY,
    KEYRING_KEY,
    REVOCATIONS_KEY,
    SESSION_COOKIE,
    SESSION_STORAGE_KEY,
    SETTINGS_KEY,
    wall_clock,
    web_options,
)
from audiofetch.web._paths import base_path
from audiofetch.web._secrets import needs_rehash, rehash_admin, verify_password
from audiofetch.web._shared import claim_login, login_succeeded
from audiofetch.web._throttle import client_key

__all__ = [
    "ADMIN_SUBJECT",
    "Identity",
    "SessionCookies",
    "identify",
    "json_object",
    "log_in",
    "log_out",
    "read_body",
    "remember_identity",
    "require_admin",
    "session_client_id",
    "session_storage",
    "setup_login",
]

ADMIN_SUBJECT = "admin"
CLIENT_SESSION_KEY = "client"
TOKEN_SESSION_KEY = "token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_VERIFY_LOCK_KEY: web.AppKey[asyncio.Lock] = web.AppKey("login_verify_lock", asyncio.Lock)


@dataclass(frozen=True, slots=True)
class Identity:
    """The requester: ``client_id`` (for job ownership and limits), admin or not, and by what means."""

    client_id: str
    admin: bool
    via: Literal["none", "cookie", "bearer"]
    claims: TokenClaims | None = None


_IDENTITY_KEY: web.RequestKey[Identity] = web.RequestKey("identity", Identity)


class SessionCookies(EncryptedCookieStorage):
    """Encrypted session cookie: HttpOnly, SameSite=Strict, Secure when the request came over https.

    ``path`` is the base path the app is served under (``/`` at the root), so the cookie stays with it.
    """

    def __init__(self, fernet: Fernet, *, max_age: int, force_secure: bool = False, path: str = "/") -> None:
        super().__init__(
            fernet, cookie_name=SESSION_COOKIE, max_age=max_age, httponly=True, samesite="Strict", path=path
        )
        self._sealer = fernet
        self._force_secure = force_secure
        self._cookie_path = path

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        secure = self._force_secure or request.secure
        if session.empty:
            response.del_cookie(
                SESSION_COOKIE, path=self._cookie_path, secure=secure, httponly=True, samesite="Strict"
            )
            return
        sealed = self._sealer.encrypt(json.dumps(self._get_session_data(session)).encode("utf-8"))
        response.set_cookie(
            SESSION_COOKIE,
            sealed.decode("ascii"),
            max_age=session.max_age,
            path=self._cookie_path,
            secure=secure,
            httponly=True,
            samesite="Strict",
        )


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp-session's middleware, with the storage ``services_ctx`` built from the KeyRing.

    The key is only known at start-up, after the middleware list is fixed, hence the indirection.
    """
    return await aiohttp_session.session_middleware(request.app[SESSION_STORAGE_KEY])(request, handler)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _address_client(request: web.Request) -> str:
    return f"addr:{client_key(request.remote)}"


async def identify(request: web.Request) -> Identity:
    """Who sent ``request`` (computed once per request). Bad or revoked credentials mean anonymous."""
    if _IDENTITY_KEY in request:
        return request[_IDENTITY_KEY]
    app = request.app
    now = wall_clock(app)
    revoked = app[REVOCATIONS_KEY]
    token = _bearer(request)
    identity: Identity
    if token is not None:
        claims = verify_token(app[KEYRING_KEY].token, token, now, revoked=revoked)
        admin = claims is not None and claims.subject == ADMIN_SUBJECT
        client = f"token:{claims.token_id}" if claims is not None else _address_client(request)
        identity = Identity(client, admin, "bearer", claims if admin else None)
    elif SESSION_COOKIE in request.cookies:
        session = await get_session(request)
        claims = verify_token(app[KEYRING_KEY].token, session.get(TOKEN_SESSION_KEY), now, revoked=revoked)
        admin = claims is not None and claims.subject == ADMIN_SUBJECT
        stored = session.get(CLIENT_SESSION_KEY)
        client = stored if isinstance(stored, str) and stored else _address_client(request)
        identity = Identity(client, admin, "cookie", claims if admin else None)
    else:
        identity = Identity(_address_client(request), False, "none")
    request[_IDENTITY_KEY] = identity
    return identity


def remember_identity(request: web.Request, identity: Identity) -> None:
    """Decide who ``request`` is before ``identify`` runs: the hook of the API-token middleware."""
    request[_IDENTITY_KEY] = identity


async def session_client_id(request: web.Request) -> str:
    """The requester's client id, giving a browser a session cookie that holds a new one if needed.

    Bearer and cookie-less clients (``curl``) are identified by their token or address instead.
    """
    identity = await identify(request)
    if identity.via == "bearer" or (identity.via == "none" and _is_script(request)):
        return identity.client_id
    session = await get_session(request)
    stored = session.get(CLIENT_SESSION_KEY)
    if isinstance(stored, str) and stored:
        client = stored
    else:
        client = _new_client_id()
        session[CLIENT_SESSION_KEY] = client
        request[_IDENTITY_KEY] = Identity(client, identity.admin, "cookie", identity.claims)
    return client


def _is_script(request: web.Request) -> bool:
    """No browser headers at all: a script, which would not keep a cookie anyway."""
    return hdrs.ORIGIN not in request.headers and "Sec-Fetch-Site" not in request.headers


async def require_admin(request: web.Request, *, field: str | None = None) -> Identity:
    """The identity when it is the admin; ``AdminRequired`` (401) about ``field`` otherwise."""
    identity = await identify(request)
    if not identity.admin:
        raise AdminRequired(field=field)
    return identity


def json_object(data: bytes) -> dict[str, Any]:
    """``data`` parsed as a JSON object; ``BadRequestError`` otherwise (nesting too deep included)."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadRequestError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object")
    return body


async def read_body(request: web.Request) -> dict[str, Any]:
    """The request's fields from a JSON object or a form; ``BadRequestError`` when unreadable."""
    if request.content_type == "application/json":
        return json_object(await request.read())
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError as exc:  # aiohttp's own words for a broken form (no boundary...): ours instead
            raise BadRequestError("the form in the request body cannot be read") from exc
        return {key: value for key, value in form.items() if isinstance(value, str)}
    if not request.can_read_body:
        return {}
    raise BadRequestError("send JSON (Content-Type: application/json) or a form")


async def log_in(request: web.Request, password: str) -> tuple[str, float]:
    """Check the admin password behind the throttle; set the session cookie and return a bearer token
    and its expiry. ``WrongPassword`` (401) or ``LoginThrottled`` (429) otherwise."""
    app = request.app
    peer = client_key(request.remote)
    wait = await claim_login(app, peer)  # issue 18: counted in the database when nodes share one
    if wait > 0:
        raise LoginThrottled(max(1, math.ceil(wait)))
    async with app[_VERIFY_LOCK_KEY]:
        credentials = app[ADMIN_KEY]
        right = await asyncio.to_thread(verify_password, credentials, password)
        if right and needs_rehash(credentials):  # a hash of an older, cheaper cost: redo it now
            app[ADMIN_KEY] = await asyncio.to_thread(rehash_admin, app[SETTINGS_KEY], credentials, password)
    if not right:
        raise WrongPassword()
    await login_succeeded(app, peer)
    ttl = float(app[SESSION_STORAGE_KEY].max_age or 0)
    now = wall_clock(app)
    token = issue_token(app[KEYRING_KEY].token, ADMIN_SUBJECT, ttl, now)
    client: object = None
    if SESSION_COOKIE in request.cookies:
        client = (await get_session(request)).get(CLIENT_SESSION_KEY)
    session = await new_session(request)  # nothing from before the login carries over but the client id
    session[CLIENT_SESSION_KEY] = client if isinstance(client, str) and client else _new_client_id()
    session[TOKEN_SESSION_KEY] = token
    session[CSRF_SESSION_KEY] = new_csrf_secret()
    request.pop(_IDENTITY_KEY, None)
    return token, now + ttl


async def login(request: web.Request) -> web.Response:
    """``POST /api/auth/login``: the ``LOGIN`` body; the token answer."""
    fields = LOGIN.read(await read_body(request))
    return token_answer(*await log_in(request, fields["password"]))


def _new_client_id() -> str:
    return f"client:{secrets.token_urlsafe(16)}"


async def log_out(request: web.Request) -> None:
    """Revoke the token this request carries (bearer, or the one in the session) and end the session."""
    identity = await identify(request)
    app = request.app
    if identity.claims is not None:
        await asyncio.to_thread(app[REVOCATIONS_KEY].revoke, identity.claims, wall_clock(app))
    if identity.via == "cookie":
        session = await get_session(request)
        client = session.get(CLIENT_SESSION_KEY)
        session.clear()
        if isinstance(client, str):
            session[CLIENT_SESSION_KEY] = client
        session[CSRF_SESSION_KEY] = new_csrf_secret()
    request.pop(_IDENTITY_KEY, None)


async def logout(request: web.Request) -> web.Response:
    """``POST /api/auth/logout``."""
    await log_out(request)
    return web.json_response({"admin": False})


async def me(request: web.Request) -> web.Response:
    """Whether the requester is the admin, how it authenticated and until when."""
    identity = await identify(request)
    claims = identity.claims
    return web.json_response(
        {
            "admin": identity.admin,
            "via": identity.via if identity.admin else "none",
            "expires_at": claims.expires_at if claims is not None else None,
        }
    )


def setup_login(app: web.Application) -> None:
    """Install the session middleware (after ``setup_middlewares``) and the ``/api/auth/*`` routes."""
    app[_VERIFY_LOCK_KEY] = asyncio.Lock()
    app.middlewares.append(session_middleware)
    app.router.add_post("/api/auth/login", login, name="api.auth.login")
    app.router.add_post("/api/auth/logout", logout, name="api.auth.logout")
    app.router.add_get("/api/auth/me", me, name="api.auth.me")


def session_storage(app: web.Application, fernet: Fernet, *, max_age_seconds: int) -> SessionCookies:
    """The cookie storage for ``services_ctx`` to put under ``SESSION_STORAGE_KEY``.

    ``max_age_seconds`` is also the lifetime of the tokens the login issues.
    """
    return SessionCookies(
        fernet,
        max_age=max_age_seconds,
        force_secure=web_options(app).force_secure_cookie,
        path=base_path(app) or "/",
    )
