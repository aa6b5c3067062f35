"""The admin password hash meets OWASP's current scrypt cost (N=2^17), and older hashes are upgraded.

A data folder from an earlier release holds an ``admin.json`` made with N=2^15. The server still accepts
that password, and on the first successful login redoes the hash at the current cost; a wrong password
changes nothing, and after a restart the upgraded file is what is checked.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from audiofetch.web._secrets import ADMIN_FILE, SCRYPT_N, hash_password, write_private_file
from tests.hardening2.kit import Browser, serve
from tests.hardening_api.serverproc import ADMIN_PASSWORD


async def _login(base: str, password: str) -> int:
    client = Browser(base)
    try:
        status, _ = await client.json("POST", "/api/auth/login", json={"password": password})
    finally:
        await client.close()
    return status


def test_the_current_cost_is_owasps_recommendation() -> None:
    assert SCRYPT_N == 2**17
    record = json.loads(hash_password("a long passphrase").to_json())
    assert (record["n"], record["r"], record["p"]) == (2**17, 8, 1)


async def test_an_older_hash_is_redone_at_the_current_cost_on_the_next_login(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    admin = data / ADMIN_FILE
    old = hash_password(ADMIN_PASSWORD, n=2**15)
    write_private_file(admin, old.to_json().encode(), replace=False)
    env = {"ADMIN_PASSWORD": ""}  # the password lives in admin.json only, as after a generated one

    async with serve(tmp_path, **env) as server:
        assert await _login(server.base, "not the password") == 401
        assert json.loads(admin.read_text())["n"] == 2**15  # a wrong password upgrades nothing
        assert await _login(server.base, ADMIN_PASSWORD) == 200
        upgraded = json.loads(admin.read_text())
        assert upgraded["n"] == 2**17 and upgraded["salt"] != json.loads(old.to_json())["salt"]
        assert admin.stat().st_mode & 0o777 == 0o600
        assert await _login(server.base, ADMIN_PASSWORD) == 200
    async with serve(tmp_path, **env) as again:
        assert await asyncio.gather(_login(again.base, ADMIN_PASSWORD), _login(again.base, "nope")) == [  # type: ignore[comparison-overlap]  # gather gives a list
            200,
            401,
        ]
    assert json.loads(admin.read_text()) == upgraded
