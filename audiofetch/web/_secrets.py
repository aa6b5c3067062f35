"""Secrets kept in the data folder: the server key (``secret.key``) and admin password hash (``admin.json``).

Both files are created with mode 0600 from the first byte (``os.open`` with ``O_EXCL``) and appear under
their final name only once complete (hard link of a finished temporary file), so a reader never sees a
half-written file and another process starting at the same moment ends up using the same one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hmac
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from audiofetch.config import Settings
from audiofetch.errors import ConfigError

__all__ = [
    "ADMIN_FILE",
    "SECRET_FILE",
    "AdminCredentials",
    "KeyRing",
    "PasswordHash",
    "derive_keys",
    "hash_password",
    "load_or_create_admin",
    "load_or_create_secret",
    "needs_rehash",
    "rehash_admin",
    "verify_password",
    "write_private_file",
]

log = logging.getLogger(__name__)

SECRET_FILE = "secret.key"
ADMIN_FILE = "admin.json"
KEY_BYTES = 32
# Passwords that are refused as ADMIN_PASSWORD and never verify, compared after strip() and casefold().
REFUSED_PASSWORDS = frozenset({"admin123"})
MIN_PASSWORD_CHARS = 8
# Longer candidates are refused unhashed: nobody types more, and it caps the work one request can cause.
MAX_PASSWORD_CHARS = 1024
# scrypt cost, OWASP's current recommendation: 2**17 x 8 uses 128 MiB and about 0.4 s per hash. Recorded in
# admin.json; a hash made with other parameters is redone with these at the next successful login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_SCRYPT_LIMITS = {"n": 2**20, "r": 32, "p": 16}
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}


def write_private_file(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically.

    With ``replace=False`` an existing file wins and False is returned (create-once semantics, safe
    between processes); otherwise the file is replaced. Missing parent folders are created 0700.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            return _create_exclusive(path, data)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _create_exclusive(path: Path, data: bytes) -> bool:
    """Fallback for file systems without hard links: create in place (0600 from the start)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _read_private_file(path: Path) -> bytes | None:
    """Read ``path`` (None when absent), warning when other users may read it too."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users; run: chmod 600 %s", path, path)
    return data


def _hkdf(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(material)


def load_or_create_secret(settings: Settings) -> bytes:
    """The 32-byte server master key: from ``SECRET_KEY``, else ``<data_dir>/secret.key``, else a new one.

    Any ``SECRET_KEY`` string works (HKDF turns it into 32 bytes), but its strength is the string's own:
    use 32 random characters or more. A ``secret.key`` of the wrong length raises ``ConfigError`` rather
    than being replaced, since a new key would silently log everybody out.
    """
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            log.warning(
                "SECRET_KEY is shorter than 16 characters; cookies and tokens are only as safe as it is"
            )
        return _hkdf(settings.secret_key.encode("utf-8"), b"audiofetch/v1/secret-key-setting")
    path = settings.data_dir / SECRET_FILE
    for _ in range(2):
        data = _read_private_file(path)
        if data is not None:
            if len(data) != KEY_BYTES:
                raise ConfigError(
                    f"{path} holds {len(data)} bytes instead of {KEY_BYTES}; delete it to make a new key "
                    "(everybody will have to log in again)"
                )
            return data
        try:
            if write_private_file(path, secrets.token_bytes(KEY_BYTES), replace=False):
                log.info("generated a new server key in %s", path)
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from exc
    raise ConfigError(f"{path} disappeared while it was being created")


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Independent subkeys derived from the master key, one per use, so no use can forge for another."""

    cookie: bytes = field(repr=False)
    token: bytes = field(repr=False)
    csrf: bytes = field(repr=False)

    def cookie_fernet(self) -> Fernet:
        """The Fernet object to hand to aiohttp-session's ``EncryptedCookieStorage``."""
        return Fernet(base64.urlsafe_b64encode(self.cookie))


def derive_keys(master: bytes) -> KeyRing:
    """Derive the cookie, token and CSRF subkeys from ``master`` with HKDF-SHA256 and distinct labels."""
    return KeyRing(
        cookie=_hkdf(master, b"audiofetch/v1/session-cookie"),
        token=_hkdf(master, b"audiofetch/v1/bearer-token"),
        csrf=_hkdf(master, b"audiofetch/v1/csrf"),
    )


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """An scrypt hash with the salt and cost parameters it was made with."""

    salt: bytes
    n: int
    r: int
    p: int
    digest: bytes = field(repr=False)

    def to_json(self) -> str:
        """The ``admin.json`` text: parameters, salt and digest, never the password."""
        encode = base64.b64encode
        body = {
            "version": 1,
            "kdf": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": encode(self.salt).decode("ascii"),
            "hash": encode(self.digest).decode("ascii"),
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PasswordHash:
        """Parse ``admin.json``; raises ValueError naming what is wrong."""
        body: Any = json.loads(text)
        if not isinstance(body, dict) or body.get("kdf") != "scrypt" or body.get("version") != 1:
            raise ValueError("not a version 1 scrypt record")
        params: dict[str, int] = {}
        for name, limit in _SCRYPT_LIMITS.items():
            value = body.get(name)
            if type(value) is not int or not 1 <= value <= limit:
                raise ValueError(f"scrypt parameter {name} is missing or out of range")
            params[name] = value
        try:
            salt = base64.b64decode(body.get("salt", ""), validate=True)
            digest = base64.b64decode(body.get("hash", ""), validate=True)
        except (binascii.Error, TypeError) as exc:
            raise ValueError("salt or hash is not base64") from exc
        if len(salt) < 16 or len(digest) != KEY_BYTES:
            raise ValueError("salt or hash has the wrong length")
        return cls(salt, params["n"], params["r"], params["p"], digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(
        password.encode("utf-8", "surrogatepass")
    )


def hash_password(password: str, *, n: int = SCRYPT_N) -> PasswordHash:
    """Hash ``password`` with scrypt and a fresh 16-byte salt (about 0.4 s of CPU: call from a thread).

    ``n`` other than ``SCRYPT_N`` is for tests that hash many times, and for making older records.
    """
    salt = secrets.token_bytes(16)
    return PasswordHash(salt, n, SCRYPT_R, SCRYPT_P, _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P))


def _refused(password: str) -> bool:
    return password.strip().casefold() in REFUSED_PASSWORDS


@dataclass(frozen=True, slots=True)
class AdminCredentials:
    """The admin password hash, where it came from, and the password itself only when just generated."""

    password_hash: PasswordHash
    source: Literal["setting", "file", "generated"]
    # Set only on the start that generated it, for the caller to print once; never stored.
    generated_password: str | None = field(default=None, repr=False)


def load_or_create_admin(settings: Settings) -> AdminCredentials:
    """The admin credentials: hash ``ADMIN_PASSWORD``, else read ``<data_dir>/admin.json``, else generate.

    A generated password (24 URL-safe characters, 144 random bits) is returned in ``generated_password``
    for the caller to print once; only its scrypt hash is written (0600). Raises ``ConfigError`` for
    ``admin123``, an ``ADMIN_PASSWORD`` under 8 characters, or an unreadable ``admin.json``.
    Takes about 0.4 s (one scrypt): call it at start-up, not per request.
    """
    password = settings.admin_password
    if password:
        if _refused(password):
            raise ConfigError("ADMIN_PASSWORD may not be admin123; choose a password of your own")
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"ADMIN_PASSWORD is too short: use at least {MIN_PASSWORD_CHARS} characters")
        if len(password) > MAX_PASSWORD_CHARS:
            raise ConfigError(f"ADMIN_PASSWORD is too long: use at most {MAX_PASSWORD_CHARS} characters")
        return AdminCredentials(hash_password(password), "setting")
    path = settings.data_dir / ADMIN_FILE
    for _ in range(2):
        data = _read_private_file(path)
        if data is not None:
            try:
                return AdminCredentials(PasswordHash.from_json(data.decode("utf-8")), "file")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"{path} is unreadable ({exc}); delete it to generate a new admin password"
                ) from exc
        generated = secrets.token_urlsafe(18)
        record = hash_password(generated)
        try:
            created = write_private_file(path, record.to_json().encode("utf-8"), replace=False)
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from exc
        if created:
            return AdminCredentials(record, "generated", generated)
    raise ConfigError(f"{path} disappeared while it was being created")


def needs_rehash(credentials: AdminCredentials) -> bool:
    """True when ``admin.json`` holds a hash made with other scrypt parameters than the current ones."""
    stored = credentials.password_hash
    current = (SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return credentials.source != "setting" and (stored.n, stored.r, stored.p) != current


def rehash_admin(settings: Settings, credentials: AdminCredentials, password: str) -> AdminCredentials:
    """The admin hash redone at the current cost and written to ``admin.json`` (0600, replaced whole).

    Call only with the password just verified, from a thread. If the file cannot be written the old
    credentials are returned and the problem logged: the login itself must not fail for it.
    """
    record = hash_password(password)
    path = settings.data_dir / ADMIN_FILE
    try:
        write_private_file(path, record.to_json().encode("utf-8"), replace=True)
    except OSError as exc:
        log.error("cannot rewrite %s with the stronger hash (%s); it keeps the old one", path, exc)
        return credentials
    old = credentials.password_hash
    log.info("admin password hash upgraded from scrypt N=%d to N=%d in %s", old.n, record.n, path)
    return AdminCredentials(record, "file")


def verify_password(credentials: AdminCredentials, candidate: str) -> bool:
    """True when ``candidate`` is the admin password; constant-time compare, never raises.

    ``admin123`` never verifies, whatever the stored hash. Takes about 0.4 s (scrypt): call it through
    ``asyncio.to_thread`` behind the login throttle, one at a time.
    """
    if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_PASSWORD_CHARS:
        return False
    stored = credentials.password_hash
    try:
        digest = _scrypt(candidate, stored.salt, stored.n, stored.r, stored.p)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, stored.digest) and not _refused(candidate)
