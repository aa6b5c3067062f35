"""Long-lived API tokens for scripts: created, named, listed and revoked by the admin.

A token is ``afk_<id>_<secret>``: ``id`` (12 hex digits) names it in lists and logs, ``secret`` (43
URL-safe characters, 256 random bits) is what makes it valid. It is shown once, when it is created;
only the SHA-256 of the whole token is kept (a fast hash is right for 256 random bits: there is no
password to guess). Each token has a kind: ``browser`` (an anonymous visitor's rights, with its own
client id, so its own jobs and job limits) or ``admin``. The store lives in memory and in
``api_tokens.json`` (0600) in the data folder; revoking drops the token from memory before the file
is written, so the very next request with it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from audiofetch.errors import BadRequestError
from audiofetch.web._secrets import write_private_file

__all__ = [
    "API_TOKEN_PREFIX",
    "MAX_TOKENS",
    "TOKENS_FILE",
    "TOKEN_KINDS",
    "ApiToken",
    "ApiTokenStore",
    "TokenKind",
    "is_api_token",
]

log = logging.getLogger(__name__)

API_TOKEN_PREFIX = "afk_"
TOKENS_FILE = "api_tokens.json"
MAX_TOKENS = 200
MAX_NAME_CHARS = 80
TokenKind = Literal["browser", "admin"]
TOKEN_KINDS: tuple[TokenKind, ...] = get_args(TokenKind)
_ID = re.compile(r"[0-9a-f]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


def is_api_token(value: str) -> bool:
    """True when ``value`` has the shape of an API token (it may still be unknown or revoked)."""
    return value.startswith(API_TOKEN_PREFIX)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiToken:
    """One token as stored: never the token itself, only its digest."""

    id: str
    name: str
    kind: TokenKind
    created_at: float
    digest: str

    @property
    def client_id(self) -> str:
        """The client id its requests carry: its jobs are its own, counted against its own limits."""
        return f"apitoken:{self.id}"

    @property
    def admin(self) -> bool:
        """True for an admin token."""
        return self.kind == "admin"

    def to_json(self) -> dict[str, Any]:
        """What the API shows: id, name, kind, created_at (Unix seconds); never the digest."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "created_at": self.created_at}


def token_name(value: object) -> str:
    """A token's name from a request field: 1 to 80 printable characters; ``BadRequestError`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError("name is required: say what the token is for, such as 'backup script'")
    name = " ".join(value.split())
    if len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise BadRequestError(f"name must be at most {MAX_NAME_CHARS} printable characters")
    return name


def token_kind(value: object) -> TokenKind:
    """A token's kind from a request field (absent: browser); ``BadRequestError`` when unknown."""
    if value is None or value == "":
        return "browser"
    for kind in TOKEN_KINDS:
        if value == kind:
            return kind
    raise BadRequestError("kind must be 'browser' (a visitor's rights) or 'admin'")


class ApiTokenStore:
    """The API tokens, in memory and (when ``path`` is given) in a 0600 JSON file.

    ``create`` and ``revoke`` write the file synchronously (a few KB): call them through
    ``asyncio.to_thread``. Several nodes on one data folder share the file: every use first compares
    the file's identity (one ``stat``) with what was read last and reads it again when another node
    changed it, so a token made or revoked on any node counts on every node at once.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._tokens: dict[str, ApiToken] = {}
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file last read
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> ApiTokenStore:
        """The tokens saved in ``path``; none when it is missing. A damaged file loads no token (every
        saved token is refused, the safe side) and is logged; the next change rewrites it."""
        store = cls(path)
        store._refresh()
        return store

    def _refresh(self) -> None:
        """Read the file again when it is not the one read last (changed by this or another node)."""
        if self._path is None:
            return
        try:
            info = self._path.stat()
        except FileNotFoundError:
            self._tokens, self._seen = {}, None
            return
        except OSError as exc:
            log.error("cannot read %s (%s): no API token is valid for now", self._path, exc)
            self._tokens, self._seen = {}, None
            return
        seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        if seen == self._seen:
            return
        self._seen = seen
        tokens: dict[str, ApiToken] = {}
        try:
            body = json.loads(self._path.read_text(encoding="utf-8"))
            for entry in body["tokens"]:
                token = ApiToken(
                    id=str(entry["id"]),
                    name=token_name(entry["name"]),
                    kind=token_kind(entry["kind"]),
                    created_at=float(entry["created_at"]),
                    digest=str(entry["digest"]),
                )
                if _ID.fullmatch(token.id):
                    tokens[token.id] = token
        except FileNotFoundError:
            tokens = {}
        except (OSError, ValueError, TypeError, KeyError, BadRequestError) as exc:
            log.error(
                "cannot read %s (%s): no API token is valid until the admin makes new ones", self._path, exc
            )
            tokens = {}
        self._tokens = tokens

    def list(self) -> list[ApiToken]:
        """Every token, oldest first."""
        self._refresh()
        return sorted(self._tokens.values(), key=lambda token: (token.created_at, token.id))

    def create(self, name: str, kind: TokenKind, now: float) -> tuple[ApiToken, str]:
        """A new token: its record and the token itself, which nobody can see again.

        ``BadRequestError`` past ``MAX_TOKENS`` tokens (revoke some first).
        """
        with self._lock:
            self._refresh()
            if len(self._tokens) >= MAX_TOKENS:
                raise BadRequestError(f"there are already {MAX_TOKENS} API tokens; revoke unused ones first")
            token_id = secrets.token_hex(6)
            while token_id in self._tokens:
                token_id = secrets.token_hex(6)
            secret = f"{API_TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            record = ApiToken(token_id, name, kind, now, _digest(secret))
            self._tokens[token_id] = record
            self._save()
        log.info("API token %s (%s, %s) created", token_id, name, kind)
        return record, secret

    def revoke(self, token_id: str) -> ApiToken | None:
        """Refuse this token from now on; the record it had, or None when there was none."""
        with self._lock:
            self._refresh()
            record = self._tokens.pop(token_id, None)
            if record is not None:
                self._save()
        if record is not None:
            log.info("API token %s (%s) revoked", record.id, record.name)
        return record

    def check(self, presented: str) -> ApiToken | None:
        """The token's record when ``presented`` is a current token; None otherwise, never an error."""
        if not presented.isascii() or not is_api_token(presented):
            return None
        token_id, _, secret = presented[len(API_TOKEN_PREFIX) :].partition("_")
        if not _ID.fullmatch(token_id) or not _SECRET.fullmatch(secret):
            return None
        self._refresh()
        record = self._tokens.get(token_id)
        if record is None or not hmac.compare_digest(record.digest, _digest(presented)):
            return None
        return record

    def _save(self) -> None:
        if self._path is None:
            return
        body = {
            "version": 1,
            "tokens": [{**token.to_json(), "digest": token.digest} for token in self._tokens.values()],
        }
        try:
            write_private_file(self._path, json.dumps(body).encode("utf-8"), replace=True)
            info = self._path.stat()
            self._seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        except OSError as exc:
            log.error("cannot save %s (%s); the change holds until restart only", self._path, exc)
