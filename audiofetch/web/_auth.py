"""Bearer tokens for API clients and the revocation list that makes logout final.

A token is ``af1.<body>.<mac>``: ``body`` is base64url JSON ``{"sub", "iat", "exp", "jti"}`` and ``mac``
the base64url HMAC-SHA256 of ``af1.<body>`` under the token subkey. It is URL-safe, carries no secret,
and is checked before anything in it is parsed. The same token string is what the session cookie should
hold, so logging out (revoking its ``jti``) also kills a copied cookie.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

from audiofetch.web._secrets import write_private_file

__all__ = [
    "REVOKED_FILE",
    "RevocationList",
    "TokenClaims",
    "issue_token",
    "verify_token",
]

log = logging.getLogger(__name__)

REVOKED_FILE = "revoked.json"
TOKEN_PREFIX = "af1"
MAX_TOKEN_CHARS = 2048
MAX_SUBJECT_CHARS = 256
# A token claiming to be issued further in the future than this is refused (clock went backwards).
CLOCK_SKEW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: who, when issued and until when (Unix seconds), and its unique id."""

    subject: str
    issued_at: float
    expires_at: float
    token_id: str


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def _mac(key: bytes, signed: str) -> str:
    signer = hmac.HMAC(key, hashes.SHA256())
    signer.update(signed.encode("ascii"))
    return _b64encode(signer.finalize())


def issue_token(key: bytes, subject: str, ttl_seconds: float, now: float) -> str:
    """A signed token for ``subject`` valid for ``ttl_seconds`` from ``now`` (Unix seconds)."""
    if not subject or len(subject) > MAX_SUBJECT_CHARS:
        raise ValueError(f"a token subject must have 1 to {MAX_SUBJECT_CHARS} characters")
    if not ttl_seconds > 0:
        raise ValueError("a token lifetime must be positive")
    body = {"sub": subject, "iat": now, "exp": now + ttl_seconds, "jti": secrets.token_urlsafe(16)}
    signed = f"{TOKEN_PREFIX}.{_b64encode(json.dumps(body, separators=(',', ':')).encode('utf-8'))}"
    return f"{signed}.{_mac(key, signed)}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _claims(body: Any) -> TokenClaims | None:
    if not isinstance(body, dict):
        return None
    subject, token_id = body.get("sub"), body.get("jti")
    issued_at, expires_at = _number(body.get("iat")), _number(body.get("exp"))
    if not isinstance(subject, str) or not isinstance(token_id, str) or not subject or not token_id:
        return None
    if issued_at is None or expires_at is None or expires_at <= issued_at:
        return None
    return TokenClaims(subject, issued_at, expires_at, token_id)


def verify_token(
    key: bytes, token: object, now: float, *, revoked: RevocationList | None = None
) -> TokenClaims | None:
    """The claims of ``token`` if it is genuine, current and not revoked; otherwise None, never an error.

    Refused: anything but a ``str``, over 2048 characters, a bad MAC (forged, truncated, other key),
    expired (``now >= exp``), issued more than 60 s in the future, or listed in ``revoked``.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    signed = f"{parts[0]}.{parts[1]}"
    if not secrets.compare_digest(_mac(key, signed), parts[2]):
        return None
    try:
        claims = _claims(json.loads(_b64decode(parts[1])))
    except (ValueError, binascii.Error, RecursionError):
        return None
    if claims is None or now >= claims.expires_at or claims.issued_at > now + CLOCK_SKEW_SECONDS:
        return None
    if revoked is not None and revoked.is_revoked(claims):
        return None
    return claims


class RevocationList:
    """Ids of tokens logged out before their expiry, kept in memory and in ``revoked.json`` (0600).

    Bounded: an entry is dropped once its token has expired anyway, and if ``max_entries`` live entries
    are reached the list falls back to ``revoke_all`` (every earlier token refused) rather than forget
    one. A missing file is an empty list; an unreadable one fails closed the same way. ``revoke`` and
    ``revoke_all`` write the file synchronously (a few KB): call them through ``asyncio.to_thread``;
    a failed write is logged and the revocation still holds in memory.
    """

    def __init__(self, path: Path | None = None, *, max_entries: int = 10_000) -> None:
        self._path = path
        self._max_entries = max_entries
        self._expiry_by_id: dict[str, float] = {}
        self._not_before = -math.inf
        self._lock = threading.Lock()
        # Issue 18: told of each revocation made here (token id, its expiry; None, the time: all before),
        # so other nodes learn it; called from the thread ``revoke`` runs in.
        self.on_revoke: Callable[[str | None, float], None] | None = None

    @classmethod
    def load(cls, path: Path, now: float, *, max_entries: int = 10_000) -> RevocationList:
        """Read ``path`` (if it exists), dropping entries whose tokens have expired by ``now``."""
        revocations = cls(path, max_entries=max_entries)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return revocations
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read %s (%s); every token issued so far is revoked", path, exc)
            revocations.revoke_all(now)
            return revocations
        try:
            body = json.loads(text)
            not_before = _number(body["not_before"]) if body["not_before"] is not None else -math.inf
            entries = body["revoked"]
            if not_before is None or not isinstance(entries, dict):
                raise ValueError("wrong field types")
            for token_id, expiry in entries.items():
                number = _number(expiry)
                if number is None:
                    raise ValueError(f"bad expiry for {token_id!r}")
                if number > now:
                    revocations._expiry_by_id[token_id] = number
            revocations._not_before = not_before
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            log.warning("%s is corrupt (%s); every token issued so far is revoked", path, exc)
            revocations._expiry_by_id.clear()
            revocations.revoke_all(now)
        return revocations

    def __len__(self) -> int:
        return len(self._expiry_by_id)

    def is_revoked(self, claims: TokenClaims) -> bool:
        """True when this token was logged out, or issued before the last ``revoke_all``."""
        return claims.token_id in self._expiry_by_id or claims.issued_at < self._not_before

    def revoke(self, claims: TokenClaims, now: float) -> None:
        """Refuse this token from now on (logout), and persist the list."""
        with self._lock:
            self._drop_expired(now)
            if len(self._expiry_by_id) >= self._max_entries:
                log.warning("revocation list full (%d entries): revoking every token", self._max_entries)
                self._expiry_by_id.clear()
                self._not_before = max(self._not_before, now)
            self._expiry_by_id[claims.token_id] = claims.expires_at
            self._save()
        if self.on_revoke is not None:
            self.on_revoke(claims.token_id, claims.expires_at)

    def revoke_all(self, now: float) -> None:
        """Refuse every token issued before ``now`` (log out everywhere), and persist the list."""
        with self._lock:
            self._not_before = max(self._not_before, now)
            self._drop_expired(now)
            self._save()
        if self.on_revoke is not None:
            self.on_revoke(None, now)

    def merge(self, revoked: Mapping[str, float], not_before: float | None) -> None:
        """Adopt revocations made on other nodes (in memory: each node's file is its own cache)."""
        with self._lock:
            self._expiry_by_id.update(revoked)
            if not_before is not None:
                self._not_before = max(self._not_before, not_before)

    def _drop_expired(self, now: float) -> None:
        for token_id in [i for i, expiry in self._expiry_by_id.items() if expiry <= now]:
            del self._expiry_by_id[token_id]

    def _save(self) -> None:
        if self._path is None:
            return
        not_before = None if self._not_before == -math.inf else self._not_before
        body = {"version": 1, "not_before": not_before, "revoked": self._expiry_by_id}
        try:
            write_private_file(self._path, json.dumps(body).encode("utf-8"), replace=True)
        except OSError as exc:
            log.error("cannot save %s (%s); the revocation holds until restart only", self._path, exc)
