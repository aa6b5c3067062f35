"""Cross-site request checks: the ``Origin``/``Sec-Fetch-Site`` policy and synchronizer CSRF tokens.

Pure functions over header values, so the policy can be tested as a table; the middleware that reads
the headers and answers 403 lives with the routes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CSRF_SESSION_KEY",
    "Credentials",
    "check_csrf",
    "csrf_token_for",
    "new_csrf_secret",
    "normalize_origin",
    "origin_allowed",
]

CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_DIGEST_BYTES = 32
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEBSOCKET_SCHEMES = {"ws": "http", "wss": "https"}
# The origins browsers give extension pages and workers: a Chromium id (32 letters a-p) or a Firefox
# per-install UUID. No web page can send one, so listing one in AUDIOFETCH_CORS_ORIGINS trusts that extension.
_EXTENSION_ORIGIN = re.compile(
    r"chrome-extension://[a-p]{32}|moz-extension://[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)

# How the request authenticates: "cookie" is ambient (a browser adds it to forged requests too),
# "bearer" is an Authorization header a cross-site page cannot add, "none" is anonymous.
Credentials = Literal["none", "cookie", "bearer"]


def normalize_origin(text: str) -> str | None:
    """``scheme://host:port`` in lower case with the port always written, or None if not an http(s) origin.

    A trailing ``/`` is tolerated (as people write it in settings); paths, queries, fragments and
    user info are not. ``HTTPS://Example.com`` and ``https://example.com:443/`` give the same result.
    A browser extension's origin (``chrome-extension://ID``, ``moz-extension://UUID``) comes back lower
    cased as it is, so one can be listed in ``AUDIOFETCH_CORS_ORIGINS``.
    """
    extension = text.strip().removesuffix("/").lower()
    if _EXTENSION_ORIGIN.fullmatch(extension):
        return extension
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = _WEBSOCKET_SCHEMES.get(parts.scheme, parts.scheme)
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def origin_allowed(
    request_origin: str | None,
    sec_fetch_site: str | None,
    host: str | None,
    scheme: str,
    cors_origins: Iterable[str] = (),
    *,
    credentials: Credentials = "cookie",
) -> bool:
    """Whether a state-changing request or a WebSocket/SSE handshake may proceed.

    Apply it to POST/PUT/PATCH/DELETE and to the ``/ws`` and ``/api/events`` handshakes; other GETs
    need no check. ``host`` is the ``Host`` header, ``scheme`` the request's (http or https),
    ``cors_origins`` the configured ``AUDIOFETCH_CORS_ORIGINS``. The policy, first match wins:

    1. ``Origin`` present:
       a. ``null`` or neither an http(s) nor a browser-extension origin: refused.
       b. listed in ``cors_origins`` (compared normalised): allowed.
       c. ``Sec-Fetch-Site`` present: allowed only if it is ``same-origin`` (the browser vouches,
          which also holds behind a TLS-terminating proxy that changes scheme or Host).
       d. otherwise allowed only if it equals ``scheme://host`` (default ports made explicit).
    2. No ``Origin`` but ``Sec-Fetch-Site`` (a browser): allowed only if it is ``same-origin``
       (browsers leave Origin out of same-origin GETs such as ``EventSource``).
    3. Neither header: not a current browser (they send Origin on every cross-origin unsafe request
       and WebSocket), so allowed when the request carries a bearer token or no credentials at all
       (``curl`` logging in or starting a job has nothing ambient to abuse); refused when it would be
       authenticated by the session cookie alone. The caller must then authenticate such a request
       by its bearer token only, never fall back to the cookie.

    ``*`` in ``cors_origins`` is not a wildcard: it matches nothing.
    """
    site = (sec_fetch_site or "").strip().lower()
    origin_text = (request_origin or "").strip()
    if origin_text:
        origin = normalize_origin(origin_text)
        if origin is None:
            return False
        if origin in {normalize_origin(allowed) for allowed in cors_origins}:
            return True
        if site:
            return site == "same-origin"
        own = normalize_origin(f"{scheme.lower()}://{host}") if host else None
        return own is not None and hmac.compare_digest(origin, own)
    if site:
        return site == "same-origin"
    return credentials != "cookie"


def new_csrf_secret() -> str:
    """A fresh per-session CSRF secret, to keep in the session under ``CSRF_SESSION_KEY``.

    Make a new one at login and logout, so a token seen before login is worthless after it.
    """
    return secrets.token_urlsafe(32)


def _expected(key: bytes, session_secret: str) -> bytes:
    return hmac.digest(key, session_secret.encode("utf-8", "surrogatepass"), "sha256")


def csrf_token_for(key: bytes, session_secret: str) -> str:
    """The token to put in pages (``hx-headers`` ``X-CSRF-Token``, or a ``csrf_token`` form field).

    It is HMAC(key, session secret) masked with a fresh random pad on every call, so the secret never
    appears in HTML and compressed responses do not repeat the same bytes (BREACH).
    """
    pad = secrets.token_bytes(_DIGEST_BYTES)
    masked = bytes(a ^ b for a, b in zip(pad, _expected(key, session_secret), strict=True))
    return base64.urlsafe_b64encode(pad + masked).rstrip(b"=").decode("ascii")


def check_csrf(key: bytes, session_secret: object, presented: object) -> bool:
    """True when ``presented`` was made by ``csrf_token_for`` for this session secret; never raises.

    False when the session has no secret, the token is missing, malformed, or from another session.
    Compares in constant time.
    """
    if not isinstance(session_secret, str) or not session_secret or not isinstance(presented, str):
        return False
    text = presented.strip()
    if len(text) != 86 or not text.isascii():
        return False
    try:
        raw = base64.b64decode(text + "==", altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != 2 * _DIGEST_BYTES:
        return False
    pad, masked = raw[:_DIGEST_BYTES], raw[_DIGEST_BYTES:]
    unmasked = bytes(a ^ b for a, b in zip(pad, masked, strict=True))
    return hmac.compare_digest(unmasked, _expected(key, session_secret))
