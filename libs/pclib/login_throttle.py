"""Throttling password guessing, per account and per client address.

Every sign-in attempt is counted before its password is checked, so that a burst of parallel
attempts cannot slip past the count, then forgiven if the password was right: a success clears
the account's counter and takes its own attempt off the address's (an attacker's own account
must not wipe the address's record). From the `allowed`-th failure on, the key waits: the first
wait, doubled at each further failure up to the longest, from the failure's answer (`failed`).
An attempt while its account or address waits is refused at once (RESOURCE_EXHAUSTED
TOO_MANY_ATTEMPTS with `retry_after_seconds`), without checking the password and without being
counted. A counter is forgotten some time after its last attempt (SignInSettings).

The account's key is the email as typed (normalised), whether or not an account has it: an
unknown email is counted like a known one, so the throttle tells nothing about which emails
exist. The counters live in the owning service's database, so that every replica of the gateway
and of the service shares them.

The client address is the call metadata `client-address`, which the gateway sets (it believes
forwarded headers from trusted proxies only). IPv6 addresses count by their /64 prefix, what one
subscriber gets.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from passculture.common.v1.reasons import Reason
from pclib.errors import ResourceExhausted
from pclib.settings import SignInSettings

CLIENT_ADDRESS_KEY = "client-address"
IPV6_PREFIX_LENGTH = 64
# Doublings past which any longest wait is reached (2**40 seconds is 35 000 years).
MAX_DOUBLINGS = 40


def login_failures_table(metadata: MetaData) -> Table:
    return Table(
        "login_failures",
        metadata,
        # "account:<email>" or "address:<client address>".
        Column("key", Text, primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("last_attempt_at", DateTime(timezone=True), nullable=False),
        Column("blocked_until", DateTime(timezone=True)),
    )


_counters = login_failures_table(MetaData())


def wait_seconds(failures: int, allowed: int, first_wait: float, longest_wait: float) -> float:
    """How long a key waits after its `failures`-th failure: nothing before the allowed number,
    then the first wait, doubled at each further failure, up to the longest."""
    if failures < allowed:
        return 0.0
    return min(longest_wait, first_wait * 2.0 ** min(failures - allowed, MAX_DOUBLINGS))


def client_address(context: grpc.aio.ServicerContext) -> str | None:
    """The caller's client address, as the gateway passed it."""
    for name, value in context.invocation_metadata() or ():
        if name == CLIENT_ADDRESS_KEY and value:
            return str(value)
    return None


def address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.ip_network((ip, IPV6_PREFIX_LENGTH), strict=False)}"
    return f"address:{ip}"


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt, counted as a failure until it succeeds."""

    account_key: str
    address_key: str | None
    # The keys that wait because of this attempt, with the seconds of their wait.
    waits: tuple[tuple[str, float], ...] = ()


class LoginThrottle:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: SignInSettings
    ) -> None:
        self._sessions = sessions
        self._allowed = {
            "account": max(1, settings.login_failures_per_account),
            "address": max(1, settings.login_failures_per_address),
        }
        self._first_wait = settings.login_first_wait_seconds
        self._longest_wait = settings.login_longest_wait_seconds
        self._kept = timedelta(seconds=settings.login_failures_kept_seconds)

    async def attempt(self, email: str, address: str | None, now: datetime) -> Attempt:
        """Counts an attempt to sign in as `email` from `address`, before its password is
        checked: TOO_MANY_ATTEMPTS if the account or the address must wait (nothing counted)."""
        keys = [f"account:{email}"] + ([address_key(address)] if address else [])
        waits = []
        async with self._sessions.begin() as session:
            # Always the account's row first, then the address's: no deadlock between attempts.
            for key in keys:
                if wait := await self._count(session, key, now):
                    waits.append((key, wait))
        return Attempt(keys[0], keys[1] if address else None, tuple(waits))

    async def failed(self, attempt: Attempt, now: datetime) -> None:
        """A wrong password: the waits it causes run from `now`, when its answer goes (they ran
        from its count already, so that parallel attempts wait too; checking the password took
        a while)."""
        if not attempt.waits:
            return
        async with self._sessions.begin() as session:
            for key, wait in attempt.waits:
                blocked_until = func.greatest(
                    _counters.c.blocked_until, now + timedelta(seconds=wait)
                )
                await session.execute(
                    update(_counters)
                    .where(_counters.c.key == key)
                    .values(blocked_until=blocked_until)
                )

    async def succeeded(self, attempt: Attempt) -> None:
        """Forgives a successful attempt: the account starts afresh, the address takes this
        attempt off its count."""
        async with self._sessions.begin() as session:
            await session.execute(delete(_counters).where(_counters.c.key == attempt.account_key))
            if attempt.address_key is None:
                return
            failures = func.greatest(_counters.c.failures - 1, 0)
            allowed = self._allowed["address"]
            await session.execute(
                update(_counters)
                .where(_counters.c.key == attempt.address_key)
                .values(
                    failures=failures,
                    blocked_until=case((failures < allowed, None), else_=_counters.c.blocked_until),
                )
            )

    async def _count(self, session: AsyncSession, key: str, now: datetime) -> float:
        """One more failure for the key, unless it must wait (then raises, rolling back); the
        seconds this failure makes it wait."""
        forgotten = _counters.c.last_attempt_at < now - self._kept
        count = (
            insert(_counters)
            .values(key=key, failures=1, last_attempt_at=now)
            .on_conflict_do_update(
                index_elements=[_counters.c.key],
                set_={
                    "failures": case((forgotten, 1), else_=_counters.c.failures + 1),
                    "last_attempt_at": now,
                },
                where=or_(_counters.c.blocked_until.is_(None), _counters.c.blocked_until <= now),
            )
            .returning(_counters.c.failures)
        )
        failures = (await session.execute(count)).scalar_one_or_none()
        if failures is None:  # it waits: the row is unchanged
            blocked_until = (
                await session.execute(
                    select(_counters.c.blocked_until).where(_counters.c.key == key)
                )
            ).scalar_one()
            wait = (blocked_until - now).total_seconds()
            raise ResourceExhausted(
                Reason.TOO_MANY_ATTEMPTS,
                "too many wrong passwords: try again later",
                retry_after_seconds=max(1, math.ceil(wait)),
            )
        kind = key.partition(":")[0]
        wait = wait_seconds(failures, self._allowed[kind], self._first_wait, self._longest_wait)
        if wait:
            await session.execute(
                update(_counters)
                .where(_counters.c.key == key)
                .values(blocked_until=now + timedelta(seconds=wait))
            )
        return wait
