"""Several nodes on PostgreSQL (issue 18): the login throttle and revoked sessions counted in the database.

With one process both live in memory (and ``revoked.json``). With a shared store every node must see the
same failures and logouts, or a guesser could spread attempts over the nodes and a stolen cookie would
still work on the node that did not see the logout. The throttle's policy stays ``LoginThrottle``'s: each
attempt loads the client's state from the database, applies the policy, and stores the result, under
one lock for all nodes. Revocations go to the database and every node's list follows it (NOTIFY).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from audiofetch.jobs import Budget, PgCounters, ThrottleState
from audiofetch.web._keys import LOGIN_THROTTLE_KEY, REVOCATIONS_KEY
from audiofetch.web._throttle import LoginThrottle

__all__ = ["COUNTERS_KEY", "claim_login", "login_succeeded", "share_counters"]

COUNTERS_KEY: web.AppKey[PgCounters] = web.AppKey("shared_counters")
_T = TypeVar("_T")


def _run(
    throttle: LoginThrottle, peer: str, step: Callable[[LoginThrottle], _T]
) -> Callable[[float, ThrottleState | None, Budget | None], tuple[ThrottleState | None, Budget, _T]]:
    """A database step: ``step`` applied to a throttle holding ``peer``'s stored state (same limits)."""

    def decide(
        now: float, state: ThrottleState | None, budget: Budget | None
    ) -> tuple[ThrottleState | None, Budget, _T]:
        local = throttle.blank(now)
        local.load(peer, None if state is None else (state.failures, state.blocked_until, state.last_attempt),
                   None if budget is None else (budget.level, budget.level_at))  # fmt: skip
        result = step(local)
        mine, level = local.state(peer)
        return (None if mine is None else ThrottleState(*mine)), Budget(*level), result

    return decide


async def claim_login(app: web.Application, peer: str) -> float:
    """``LoginThrottle.claim_attempt`` for ``peer``, counted on every node when they share a database."""
    throttle, counters = app[LOGIN_THROTTLE_KEY], app.get(COUNTERS_KEY)
    if counters is None:
        return throttle.claim_attempt(peer)
    return await counters.login(peer, _run(throttle, peer, lambda local: local.claim_attempt(peer)))


async def login_succeeded(app: web.Application, peer: str) -> None:
    """``LoginThrottle.record_success`` for ``peer``, on every node when they share a database."""
    throttle, counters = app[LOGIN_THROTTLE_KEY], app.get(COUNTERS_KEY)
    if counters is None:
        throttle.record_success(peer)
        return
    await counters.login(peer, _run(throttle, peer, lambda local: local.record_success(peer)))


async def share_counters(app: web.Application, counters: PgCounters) -> None:
    """Count logins in the database and keep the revocation list the same on every node."""
    loop = asyncio.get_running_loop()
    revocations = app[REVOCATIONS_KEY]

    def publish(token_id: str | None, expires_at: float) -> None:
        future = asyncio.run_coroutine_threadsafe(counters.revoke(token_id, expires_at), loop)
        try:
            asyncio.get_running_loop()  # called on the loop itself: it cannot wait; the write goes on
        except RuntimeError:  # in revoke's worker thread, as meant: the logout answers once stored
            future.result(timeout=30)

    revocations.on_revoke = publish
    await counters.follow_revocations(revocations.merge)
    app[COUNTERS_KEY] = counters
