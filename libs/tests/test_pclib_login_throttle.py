"""The throttle of wrong passwords: its arithmetic, per account and per address, forgiving a
success, forgetting, and a burst of parallel attempts. The clock is the `now` each call is given."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from passculture.common.v1.reasons import Reason
from pclib.errors import ResourceExhausted
from pclib.login_throttle import LoginThrottle, address_key, wait_seconds
from pclib.settings import SignInSettings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = {
    "refresh_token_ttl_seconds": 60,
    "login_failures_per_account": 3,
    "login_failures_per_address": 5,
    "login_first_wait_seconds": 1,
    "login_longest_wait_seconds": 8,
    "login_failures_kept_seconds": 60,
}


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@pytest.fixture
def throttle(sign_in_sessions) -> LoginThrottle:
    return LoginThrottle(sign_in_sessions, SignInSettings(**RULES))


async def waits(call) -> int:
    """The seconds the TOO_MANY_ATTEMPTS refusal that the call answers says to wait."""
    with pytest.raises(ResourceExhausted) as refused:
        await call
    assert refused.value.reason == Reason.TOO_MANY_ATTEMPTS
    return int(refused.value.metadata["retry_after_seconds"])


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 0), (2, 0), (3, 1), (4, 2), (5, 4), (6, 8), (7, 8), (10_000, 8)],
)
def test_the_wait_doubles_from_the_allowed_failure_up_to_the_longest(failures, wait):
    assert wait_seconds(failures, allowed=3, first_wait=1, longest_wait=8) == wait


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "address:203.0.113.7"),
        ("::ffff:203.0.113.7", "address:203.0.113.7"),
        # One subscriber's IPv6 addresses: one /64.
        ("2001:db8:1:2:3:4:5:6", "address:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "address:2001:db8:1:2::/64"),
        ("not an address", "address:not an address"),
    ],
)
def test_address_keys(address, key):
    assert address_key(address) == key


async def test_an_account_waits_after_its_allowed_failures_longer_each_time(throttle):
    for _ in range(3):
        await throttle.attempt("paula@x.test", None, NOW)
    assert await waits(throttle.attempt("paula@x.test", None, at(0.2))) == 1
    # Waiting is not counted: after the wait, one more try, whose failure doubles the wait.
    await throttle.attempt("paula@x.test", None, at(1))
    assert await waits(throttle.attempt("paula@x.test", None, at(1.5))) == 2
    await throttle.attempt("paula@x.test", None, at(3))
    assert await waits(throttle.attempt("paula@x.test", None, at(3))) == 4
    # Another account is not concerned.
    await throttle.attempt("someone@x.test", None, at(3))


async def test_the_wait_runs_from_the_failures_answer(throttle):
    for _ in range(2):
        await throttle.attempt("paula@x.test", None, NOW)
    third = await throttle.attempt("paula@x.test", None, NOW)
    assert third.waits == (("account:paula@x.test", 1.0),)
    # Its password check took 0.8 s: the wait runs from then.
    await throttle.failed(third, at(0.8))
    assert await waits(throttle.attempt("paula@x.test", None, at(1.5))) == 1
    await throttle.attempt("paula@x.test", None, at(1.8))


async def test_negative_control_the_wait_runs_from_the_count_without_failed(throttle):
    for _ in range(3):
        await throttle.attempt("paula@x.test", None, NOW)
    await throttle.attempt("paula@x.test", None, at(1.5))


async def test_a_success_starts_the_account_afresh(throttle):
    for _ in range(2):
        await throttle.attempt("paula@x.test", None, NOW)
    await throttle.succeeded(await throttle.attempt("paula@x.test", None, NOW))
    for _ in range(3):
        await throttle.attempt("paula@x.test", None, NOW)
    assert await waits(throttle.attempt("paula@x.test", None, NOW)) == 1


async def test_an_address_waits_after_its_allowed_failures_whatever_the_accounts(throttle):
    for number in range(5):
        await throttle.attempt(f"guess-{number}@x.test", "203.0.113.7", NOW)
    assert await waits(throttle.attempt("new@x.test", "203.0.113.7", NOW)) == 1
    # Negative control: the same account from another address may try.
    await throttle.attempt("new@x.test", "198.51.100.1", NOW)


async def test_a_waiting_address_counts_nothing_against_the_account(throttle):
    for number in range(5):
        await throttle.attempt(f"guess-{number}@x.test", "203.0.113.7", NOW)
    for _ in range(3):
        await waits(throttle.attempt("paula@x.test", "203.0.113.7", NOW))
    for _ in range(3):
        await throttle.attempt("paula@x.test", "198.51.100.1", NOW)


async def test_a_success_takes_only_its_own_attempt_off_the_address(throttle):
    for number in range(4):
        await throttle.attempt(f"guess-{number}@x.test", "203.0.113.7", NOW)
    await throttle.succeeded(await throttle.attempt("mine@x.test", "203.0.113.7", NOW))
    # Still 4 failures: the next is the 5th, then the address waits.
    await throttle.attempt("guess-4@x.test", "203.0.113.7", NOW)
    assert await waits(throttle.attempt("guess-5@x.test", "203.0.113.7", NOW)) == 1


async def test_counters_are_forgotten_a_while_after_their_last_attempt(throttle):
    for _ in range(3):
        await throttle.attempt("paula@x.test", None, NOW)
    # 60 s later the count starts again: three more tries before waiting.
    for _ in range(3):
        await throttle.attempt("paula@x.test", None, at(61))
    assert await waits(throttle.attempt("paula@x.test", None, at(61))) == 1


async def burst(throttle: LoginThrottle, size: int) -> tuple[int, int]:
    """`size` attempts on one account at once: (how many went through, how many were refused)."""
    answers = await asyncio.gather(
        *(throttle.attempt("paula@x.test", None, NOW) for _ in range(size)), return_exceptions=True
    )
    refused = sum(isinstance(answer, ResourceExhausted) for answer in answers)
    assert all(not isinstance(a, Exception) or isinstance(a, ResourceExhausted) for a in answers)
    return size - refused, refused


async def test_a_burst_of_parallel_attempts_cannot_slip_past_the_count(throttle):
    assert await burst(throttle, 20) == (3, 17)


async def test_negative_control_the_same_burst_with_a_high_limit_goes_through(sign_in_sessions):
    lenient = LoginThrottle(
        sign_in_sessions, SignInSettings(**RULES | {"login_failures_per_account": 100})
    )
    assert await burst(lenient, 20) == (20, 0)
