"""The server key and the admin password: created once, kept 0600, the plain password never on disk."""

from __future__ import annotations

import base64
import errno
import json
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp_session import get_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from pytest_aiohttp import AiohttpClient

from audiofetch.config import Settings
from audiofetch.errors import ConfigError
from audiofetch.web._secrets import (
    ADMIN_FILE,
    SECRET_FILE,
    AdminCredentials,
    derive_keys,
    hash_password,
    load_or_create_admin,
    load_or_create_secret,
    verify_password,
    write_private_file,
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, so only the explicit 0600 protects the files."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_secret_file_is_created_0600_and_reused(settings: Settings, open_umask: None) -> None:
    first = load_or_create_secret(settings)
    path = settings.data_dir / SECRET_FILE
    assert len(first) == 32
    assert path.read_bytes() == first
    assert mode_of(path) == 0o600
    assert mode_of(settings.data_dir) == 0o700
    assert load_or_create_secret(settings) == first
    assert sorted(p.name for p in settings.data_dir.iterdir()) == [SECRET_FILE]


def test_concurrent_first_starts_agree_on_one_key_and_one_password(settings: Settings) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create_secret(settings), range(16)))
        admins = list(pool.map(lambda _: load_or_create_admin(settings), range(4)))
    assert len(set(keys)) == 1
    generated = [a.generated_password for a in admins if a.generated_password is not None]
    assert len(generated) == 1, "exactly one start may announce a generated password"
    assert len({a.password_hash for a in admins}) == 1
    assert verify_password(admins[0], generated[0])
    assert sorted(p.name for p in settings.data_dir.iterdir()) == [ADMIN_FILE, SECRET_FILE]


def test_secret_key_setting_gives_a_stable_key_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="correct horse battery staple")
    key = load_or_create_secret(settings)
    assert len(key) == 32
    assert load_or_create_secret(settings) == key
    assert key != load_or_create_secret(settings.with_overrides(secret_key="correct horse battery stapler"))
    assert load_or_create_secret(settings.with_overrides(secret_key="x")) != key
    assert not settings.data_dir.exists()


def test_secret_file_of_the_wrong_length_is_refused_not_replaced(settings: Settings) -> None:
    settings.data_dir.mkdir()
    path = settings.data_dir / SECRET_FILE
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match=r"holds 5 bytes instead of 32; delete it"):
        load_or_create_secret(settings)
    assert path.read_bytes() == b"short"


def test_private_file_create_once_keeps_the_first_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert write_private_file(path, b"one", replace=False)
    assert not write_private_file(path, b"two", replace=False)
    assert path.read_bytes() == b"one"
    assert write_private_file(path, b"three", replace=True)
    assert path.read_bytes() == b"three"
    assert mode_of(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_private_file_falls_back_to_exclusive_create_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "f"
    assert write_private_file(path, b"one", replace=False)
    assert not write_private_file(path, b"two", replace=False)
    assert path.read_bytes() == b"one"
    assert mode_of(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_subkeys_are_distinct_stable_and_hidden_from_repr() -> None:
    keys = derive_keys(b"m" * 32)
    assert len({keys.cookie, keys.token, keys.csrf}) == 3
    assert all(len(k) == 32 for k in (keys.cookie, keys.token, keys.csrf))
    assert derive_keys(b"m" * 32) == keys
    assert derive_keys(b"n" * 32).token != keys.token
    assert keys.cookie.hex() not in repr(keys) and "cookie=" not in repr(keys)


def session_app(master: bytes) -> web.Application:
    async def count(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["visits"] = session.get("visits", 0) + 1
        return web.json_response({"visits": session["visits"]})

    storage = EncryptedCookieStorage(derive_keys(master).cookie_fernet(), cookie_name="s")
    app = web.Application(middlewares=[session_middleware(storage)])
    app.router.add_get("/", count)
    return app


# aiohttp-session 2.12.1 stores itself under a string request key, which aiohttp 3.14 warns about.
@pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning:aiohttp_session")
async def test_cookie_key_works_with_encrypted_cookie_storage(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(session_app(b"k" * 32))
    assert (await (await client.get("/")).json()) == {"visits": 1}
    assert (await (await client.get("/")).json()) == {"visits": 2}
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["s"].value

    other = await aiohttp_client(session_app(b"z" * 32))
    response = await other.get("/", headers={"Cookie": f"s={cookie}"})
    assert (await response.json()) == {"visits": 1}, "a cookie made with another key must read as empty"


def test_admin_password_is_generated_once_and_only_its_hash_is_written(
    settings: Settings, open_umask: None
) -> None:
    first = load_or_create_admin(settings)
    assert first.source == "generated"
    password = first.generated_password
    assert password is not None and len(password) >= 24
    assert password not in repr(first)

    path = settings.data_dir / ADMIN_FILE
    assert mode_of(path) == 0o600
    raw = path.read_bytes()
    for form in (password.encode(), base64.b64encode(password.encode()), password.encode().hex().encode()):
        assert form not in raw
    stored = json.loads(raw)
    assert stored["kdf"] == "scrypt" and stored["n"] >= 2**14 and len(base64.b64decode(stored["salt"])) >= 16
    assert sorted(p.name for p in settings.data_dir.iterdir()) == [ADMIN_FILE]

    again = load_or_create_admin(settings)
    assert again.source == "file" and again.generated_password is None
    assert again.password_hash == first.password_hash
    assert verify_password(again, password)
    assert not verify_password(again, password + "x")
    assert not verify_password(again, password.upper())


def test_admin_password_setting_is_hashed_in_memory_only(settings: Settings) -> None:
    credentials = load_or_create_admin(settings.with_overrides(admin_password="a long passphrase"))
    assert credentials.source == "setting" and credentials.generated_password is None
    assert verify_password(credentials, "a long passphrase")
    assert not verify_password(credentials, "a long passphrase ")
    assert not settings.data_dir.exists()


@pytest.mark.parametrize("password", ["admin123", "ADMIN123", " admin123\n"])
def test_admin123_is_refused_as_the_setting(settings: Settings, password: str) -> None:
    with pytest.raises(ConfigError, match=r"^ADMIN_PASSWORD may not be admin123; choose a password"):
        load_or_create_admin(settings.with_overrides(admin_password=password))


def test_short_admin_password_setting_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"too short: use at least 8 characters"):
        load_or_create_admin(settings.with_overrides(admin_password="hunter2"))


def test_admin123_never_verifies_even_if_it_is_the_stored_hash() -> None:
    credentials = AdminCredentials(hash_password("admin123"), "file")
    assert not verify_password(credentials, "admin123")
    assert not verify_password(credentials, "Admin123")


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"version": 1, "kdf": "bcrypt"}',
        b'{"version": 1, "kdf": "scrypt", "n": 2147483648, "r": 8, "p": 1, "salt": "", "hash": ""}',
        b'{"version": 1, "kdf": "scrypt", "n": 16384, "r": 8, "p": 1, "salt": "!!", "hash": "AA=="}',
        b"\xff\xfe",
    ],
)
def test_unreadable_admin_file_is_a_clear_config_error(settings: Settings, content: bytes) -> None:
    settings.data_dir.mkdir()
    (settings.data_dir / ADMIN_FILE).write_bytes(content)
    with pytest.raises(ConfigError, match=r"admin\.json is unreadable .*; delete it to generate") as info:
        load_or_create_admin(settings)
    assert "\n" not in info.value.user_message


@pytest.mark.parametrize("candidate", ["", "x" * 5000, "\ud800", "\x00", None, 12, b"bytes"])
def test_verify_password_refuses_odd_candidates_without_raising(candidate: object) -> None:
    credentials = AdminCredentials(hash_password("right password", n=2**14), "setting")
    assert verify_password(credentials, candidate) is False  # type: ignore[arg-type]
