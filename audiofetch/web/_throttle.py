"""Login throttling: growing delays per client plus an overall budget, never a permanent lock-out.

The throttle never sleeps: it answers how many seconds the caller must wait (to send as ``Retry-After``
with a 429). Attempts are counted when claimed, before the password is checked, so concurrent guesses
cannot slip through while one is being verified; a success gives the attempt back.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle", "client_key"]

# Waits shorter than this are rounding noise from the float arithmetic, not a reason to refuse.
_EPSILON = 1e-6


def client_key(remote: str | None) -> str:
    """The throttling key for a peer address: IPv4 as is, IPv6 by its /64 (one host owns a whole /64).

    IPv4-mapped IPv6 counts as the IPv4 address; anything unparsable shares the key ``"unknown"``.
    """
    try:
        address = ipaddress.ip_address((remote or "").split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(slots=True)
class _ClientState:
    failures: int
    blocked_until: float
    last_attempt: float


class LoginThrottle:
    """Decide whether a login attempt may be checked now, and if not, for how long to wait.

    Per client: failures 1-4 cost nothing; from failure ``delay_after`` (5) on the client waits
    ``base_delay * 2**k`` seconds after failure 5 + k (1, 2, 4, ... 32, then ``max_delay`` 60). A client is
    forgotten ``forget_after`` seconds (1 h) after its last attempt, and on success.
    Overall (to slow guessing spread over many addresses): a leaky bucket that holds ``global_burst``
    attempts (100) and drains ``global_rate`` per second (0.2, i.e. 12 a minute); when it is full every
    client waits for room, at most 1/``global_rate`` seconds per attempt. Refused attempts are not
    counted, so waiting always ends and the right password then works: nobody is locked out for good.
    At most ``max_clients`` clients are tracked (least recently seen dropped first).
    State lives in memory only; ``clock`` is monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        delay_after: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        forget_after: float = 3600.0,
        global_burst: int = 100,
        global_rate: float = 0.2,
        max_clients: int = 10_000,
    ) -> None:
        if global_burst < 1 or global_rate <= 0 or max_clients < 1 or base_delay <= 0:
            raise ValueError("throttle limits must be positive")
        self._clock = clock
        self._delay_after = delay_after
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._forget_after = forget_after
        self._global_burst = global_burst
        self._global_rate = global_rate
        self._max_clients = max_clients
        self._clients: OrderedDict[str, _ClientState] = OrderedDict()
        self._level = 0.0
        self._level_at = clock()

    # -- issue 18: the same policy over state kept elsewhere (several nodes: in the database) ------------

    def blank(self, now: float) -> LoginThrottle:
        """A throttle with this one's limits, no state, and a clock stopped at ``now``."""
        copy = LoginThrottle(
            clock=lambda: now, delay_after=self._delay_after, base_delay=self._base_delay,
            max_delay=self._max_delay, forget_after=self._forget_after, global_burst=self._global_burst,
            global_rate=self._global_rate, max_clients=self._max_clients,
        )  # fmt: skip
        return copy

    def load(
        self, client: str, state: tuple[int, float, float] | None, budget: tuple[float, float] | None
    ) -> None:
        """Take ``client``'s state ``(failures, blocked_until, last_attempt)`` and the budget's
        ``(level, level_at)``."""
        if state is not None:
            self._clients[client] = _ClientState(*state)
        if budget is not None:
            self._level, self._level_at = budget

    def state(self, client: str) -> tuple[tuple[int, float, float] | None, tuple[float, float]]:
        """``client``'s state (None: nothing to remember) and the budget, as ``load`` takes them."""
        found = self._clients.get(client)
        mine = None if found is None else (found.failures, found.blocked_until, found.last_attempt)
        return mine, (self._level, self._level_at)

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must wait before its next attempt is checked (0.0: it may try now)."""
        now = self._clock()
        return max(self._client_wait(client, now), self._global_wait(now))

    def claim_attempt(self, client: str) -> float:
        """Count one attempt by ``client`` if allowed: returns 0.0, or the seconds to wait (not counted).

        A claimed attempt counts as a failure until ``record_success`` is called for the client.
        """
        now = self._clock()
        wait = max(self._client_wait(client, now), self._global_wait(now))
        if wait > 0:
            return wait
        state = self._clients.pop(client, None)
        if state is None:
            state = _ClientState(failures=0, blocked_until=now, last_attempt=now)
            while len(self._clients) >= self._max_clients:
                self._clients.popitem(last=False)
        self._clients[client] = state
        state.failures += 1
        state.last_attempt = now
        excess = state.failures - self._delay_after
        state.blocked_until = now + self._delay(excess) if excess >= 0 else now
        self._level = self._level_now(now) + 1
        self._level_at = now
        return 0.0

    def record_success(self, client: str) -> None:
        """The claimed attempt was right: forget the client's failures and give back its budget unit."""
        if self._clients.pop(client, None) is not None:
            now = self._clock()
            self._level = max(0.0, self._level_now(now) - 1)
            self._level_at = now

    def _delay(self, excess: int) -> float:
        return min(self._base_delay * 2.0 ** min(excess, 64), self._max_delay)

    def _client_wait(self, client: str, now: float) -> float:
        state = self._clients.get(client)
        if state is None:
            return 0.0
        if now - state.last_attempt >= self._forget_after and state.blocked_until <= now:
            del self._clients[client]
            return 0.0
        wait = state.blocked_until - now
        return wait if wait > _EPSILON else 0.0

    def _level_now(self, now: float) -> float:
        return max(0.0, self._level - (now - self._level_at) * self._global_rate)

    def _global_wait(self, now: float) -> float:
        room_needed = self._level_now(now) - (self._global_burst - 1)
        return room_needed / self._global_rate if room_needed > _EPSILON else 0.0
