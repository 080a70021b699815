"""The counter's throttle on guessing: wrong countermarks are recorded per pro account, and an
account that typed too many within the window waits (domain/throttle.py)."""

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain.throttle import retry_after
from booking.models import CounterFailure
from passculture.booking.v1.reasons import Reason
from pclib.errors import ResourceExhausted


class Throttle:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], max_failures: int, window_seconds: int
    ) -> None:
        self._sessions = sessions
        self._max = max(1, max_failures)
        self._window = timedelta(seconds=window_seconds)

    async def check(self, user_id: str, now: datetime) -> None:
        """Raises TOO_MANY_ATTEMPTS, with the seconds to wait, when the account must wait."""
        async with self._sessions() as session:
            recent = list(
                await session.scalars(
                    select(CounterFailure.at)
                    .where(
                        CounterFailure.user_id == user_id, CounterFailure.at > now - self._window
                    )
                    .order_by(CounterFailure.at.desc())
                    .limit(self._max)
                )
            )
        wait = retry_after(recent, self._max, self._window, now)
        if wait is not None:
            raise ResourceExhausted(
                Reason.TOO_MANY_ATTEMPTS,
                "too many wrong countermarks: try again later",
                retry_after_seconds=wait,
            )

    async def record_failure(self, user_id: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            session.add(CounterFailure(user_id=user_id, at=now))
            await session.execute(
                delete(CounterFailure).where(CounterFailure.at <= now - self._window)
            )
