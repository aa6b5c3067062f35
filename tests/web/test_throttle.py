"""Login throttling: growing delays per client, an overall budget, and never a permanent lock-out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiofetch.web._secrets import AdminCredentials, hash_password, verify_password
from audiofetch.web._throttle import LoginThrottle, client_key


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fail_once(throttle: LoginThrottle, clock: Clock, client: str) -> list[float]:
    """Wait as told until an attempt is allowed, then let it fail; returns the waits imposed."""
    waits = []
    while (wait := throttle.claim_attempt(client)) > 0:
        waits.append(wait)
        clock.advance(wait)
    return waits


def login(throttle: LoginThrottle, credentials: AdminCredentials, client: str, password: str) -> bool | float:
    """What the login route does: claim, check the password, report success. Returns the wait if refused."""
    wait = throttle.claim_attempt(client)
    if wait > 0:
        return wait
    if verify_password(credentials, password):
        throttle.record_success(client)
        return True
    return False


def test_fifty_wrong_passwords_meet_growing_delays_and_the_right_one_then_works() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    credentials = AdminCredentials(
        hash_password("the right password", n=2**14), "setting"
    )  # cheap: 52 checks
    imposed: list[float] = []
    for _ in range(50):
        while (result := login(throttle, credentials, "198.51.100.7", "wrong guess")) is not False:
            assert isinstance(result, float) and result > 0
            imposed.append(result)
            clock.advance(result)
    assert imposed == [1, 2, 4, 8, 16, 32] + [60] * 39

    refused = login(throttle, credentials, "198.51.100.7", "the right password")
    assert refused == 60, "the right password must wait out the delay too, or the delay means nothing"
    clock.advance(60)
    assert login(throttle, credentials, "198.51.100.7", "the right password") is True
    assert throttle.retry_after("198.51.100.7") == 0


def test_refused_attempts_are_not_counted() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        fail_once(throttle, clock, "a")
    assert throttle.retry_after("a") == 1
    for _ in range(100):
        assert throttle.claim_attempt("a") == pytest.approx(1.0)
    clock.advance(0.5)
    assert throttle.claim_attempt("a") == pytest.approx(0.5)
    assert fail_once(throttle, clock, "a") == [pytest.approx(0.5)]
    assert throttle.retry_after("a") == 2


def test_success_resets_the_client() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(8):
        fail_once(throttle, clock, "a")
    clock.advance(throttle.retry_after("a"))
    assert throttle.claim_attempt("a") == 0
    throttle.record_success("a")
    for _ in range(4):
        assert fail_once(throttle, clock, "a") == []
    assert throttle.retry_after("a") == 0


def test_one_client_does_not_slow_another() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(12):
        fail_once(throttle, clock, "attacker")
    assert throttle.retry_after("attacker") == 60
    assert throttle.retry_after("admin") == 0
    assert throttle.claim_attempt("admin") == 0


def test_client_is_forgotten_after_an_hour_without_attempts() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(7):
        fail_once(throttle, clock, "a")
    clock.advance(3600)
    assert throttle.retry_after("a") == 0
    for _ in range(4):
        assert fail_once(throttle, clock, "a") == []


def test_overall_budget_slows_guesses_spread_over_many_addresses() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for n in range(100):
        assert throttle.claim_attempt(f"10.0.{n // 250}.{n % 250}") == 0
    assert throttle.retry_after("203.0.113.1") == pytest.approx(5.0)
    assert throttle.claim_attempt("203.0.113.1") == pytest.approx(5.0)

    clock.advance(5)
    assert throttle.claim_attempt("203.0.113.1") == 0
    assert throttle.claim_attempt("203.0.113.2") == pytest.approx(5.0), "one attempt per 5 s overall"

    clock.advance(500)
    for n in range(100):
        assert throttle.claim_attempt(f"10.1.{n // 250}.{n % 250}") == 0, "the budget refills"


def test_success_gives_its_budget_unit_back() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, global_burst=3)
    for _ in range(10):
        assert throttle.claim_attempt("admin") == 0
        throttle.record_success("admin")
    assert throttle.retry_after("someone else") == 0


def test_tracked_clients_are_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, max_clients=2)
    for _ in range(6):
        fail_once(throttle, clock, "a")
    assert throttle.retry_after("a") > 0
    throttle.claim_attempt("b")
    throttle.claim_attempt("c")
    assert throttle.retry_after("a") == 0, "the least recently seen client was dropped"


@settings(database=None, deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.floats(0, 100), st.booleans()), max_size=200))
def test_waiting_as_told_always_lets_an_attempt_through(steps: list[tuple[str, float, bool]]) -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, global_burst=10)
    for client, pause, succeeds in steps:
        clock.advance(pause)
        wait = throttle.claim_attempt(client)
        assert 0 <= wait <= 60
        if wait == 0 and succeeds:
            throttle.record_success(client)
    for client in "abcd":
        clock.advance(throttle.retry_after(client))
        assert throttle.claim_attempt(client) == 0


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_client_key_groups_an_ipv6_slash_64(remote: str | None, key: str) -> None:
    assert client_key(remote) == key
