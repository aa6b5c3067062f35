"""What the web layer counts for every node in the shared database: the login throttle's state and the
revoked sessions. The policies stay where they are (``web._throttle``, ``web._auth``); this module only
keeps their state, under an advisory lock, timed by the database's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

__all__ = ["Budget", "PgCounters", "ThrottleState"]

log = logging.getLogger(__name__)

LOGIN_LOCK = 18_0004
REVOKED_CHANNEL = "audiofetch_revoked"
ALL_TOKENS = "*"  # the revoked_tokens row of "every token issued before" (its expires_at: that time)
POLL_SECONDS = 5.0

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """One client's login failures, as ``LoginThrottle`` keeps them."""

    failures: int
    blocked_until: float
    last_attempt: float


@dataclass(frozen=True, slots=True)
class Budget:
    """The overall login budget's bucket: its level at ``level_at``."""

    level: float
    level_at: float


Decide = Callable[[float, ThrottleState | None, Budget | None], tuple[ThrottleState | None, Budget, _T]]


class PgCounters:
    """Shared counters on the store's pool; ``follow_revocations`` keeps a node's copy of the list fresh."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    async def login(self, client: str, decide: Decide[_T]) -> _T:
        """Run ``decide(now, client's state, budget)`` atomically for every node and store what it returns."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOGIN_LOCK)
            now = float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())"))
            row = await conn.fetchrow(
                "SELECT failures, blocked_until, last_attempt FROM login_throttle WHERE client = $1", client
            )
            budget = await conn.fetchrow("SELECT level, level_at FROM login_budget WHERE id = 1")
            state, new_budget, result = decide(
                now, None if row is None else ThrottleState(*row), None if budget is None else Budget(*budget)
            )
            if state is None:
                await conn.execute("DELETE FROM login_throttle WHERE client = $1", client)
            else:
                await conn.execute(
                    "INSERT INTO login_throttle VALUES ($1, $2, $3, $4) ON CONFLICT (client) DO UPDATE SET "
                    "failures = $2, blocked_until = $3, last_attempt = $4",
                    client, state.failures, state.blocked_until, state.last_attempt,
                )  # fmt: skip
            await conn.execute(
                "INSERT INTO login_budget VALUES (1, $1, $2) "
                "ON CONFLICT (id) DO UPDATE SET level = $1, level_at = $2",
                new_budget.level,
                new_budget.level_at,
            )
            return result

    async def revoke(self, token_id: str | None, expires_at: float) -> None:
        """Record a revoked token (None: every token issued before ``expires_at``) and tell the nodes."""
        token_id = ALL_TOKENS if token_id is None else token_id
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO revoked_tokens VALUES ($1, $2) ON CONFLICT (token_id) DO UPDATE SET "
                "expires_at = greatest(revoked_tokens.expires_at, $2)",
                token_id,
                expires_at,
            )
            await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < extract(epoch FROM now()) "
                               "AND token_id != $1", ALL_TOKENS)  # fmt: skip
            await conn.execute("SELECT pg_notify($1, '')", REVOKED_CHANNEL)

    async def revocations(self) -> tuple[dict[str, float], float | None]:
        """Tokens revoked and not yet expired, and the "every token before" time if any."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT token_id, expires_at FROM revoked_tokens "
                "WHERE expires_at > extract(epoch FROM now()) OR token_id = $1",
                ALL_TOKENS,
            )
        entries = {row["token_id"]: float(row["expires_at"]) for row in rows}
        return entries, entries.pop(ALL_TOKENS, None)

    async def follow_revocations(self, apply: Callable[[dict[str, float], float | None], None]) -> None:
        """Call ``apply`` with the list now, then whenever a node changes it (and every few seconds)."""
        wake = asyncio.Event()
        listener = await asyncpg.connect(self._url)
        await listener.add_listener(REVOKED_CHANNEL, lambda *_: wake.set())
        self._listener = listener
        apply(*await self.revocations())

        async def loop() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_SECONDS):
                        await wake.wait()
                wake.clear()
                try:
                    apply(*await self.revocations())
                except Exception:
                    log.exception("could not read the revoked sessions; trying again")

        self._task = asyncio.create_task(loop(), name="revocations")

    async def close(self) -> None:
        """Stop following the list."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
