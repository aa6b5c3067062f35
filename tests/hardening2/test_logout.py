"""Sessions after logout, against the real server: a copied cookie and a bearer token die with the logout,
and stay dead after a restart (the revocation is kept on disk, not in memory only).
"""

from __future__ import annotations

from pathlib import Path

from tests.hardening2.kit import Browser, serve
from tests.hardening_api.serverproc import ADMIN_PASSWORD


async def _me(base: str, **headers: str) -> bool:
    probe = Browser(base)
    try:
        status, body = await probe.json("GET", "/api/auth/me", headers=headers)
    finally:
        await probe.close()
    assert status == 200
    admin: bool = body["admin"]
    return admin


async def test_a_copied_cookie_and_a_token_no_longer_work_after_logout_even_after_a_restart(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path) as server:
        browser = Browser(server.base)
        try:
            status, login = await browser.json("POST", "/api/auth/login", json={"password": ADMIN_PASSWORD})
            assert status == 200
            copied = "; ".join(f"{c.key}={c.value}" for c in browser.session.cookie_jar)
            token = login["token"]
            assert await _me(server.base, Cookie=copied)
            assert await _me(server.base, Authorization=f"Bearer {token}")
            status, _ = await browser.json("POST", "/api/auth/logout")
            assert status == 200
        finally:
            await browser.close()
        assert not await _me(server.base, Cookie=copied)
        assert not await _me(server.base, Authorization=f"Bearer {token}")
    async with serve(tmp_path) as again:
        assert not await _me(again.base, Cookie=copied)
        assert not await _me(again.base, Authorization=f"Bearer {token}")
