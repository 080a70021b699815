"""CounterService: the pro's side of bookings, the counter ("guichet") and the bookings list.

A booking of an offerer the caller does not belong to is searched with the very query that
finds nothing for an unknown countermark (the caller's offerers are part of the WHERE clause):
both answer the same NOT_FOUND after the same work, so nothing tells them apart. Every wrong
countermark is counted against the caller's account, to throttle guessing.

GET answers the errors `use` would (the HTTP contract lists the counter errors "for GET and
use"): a used booking is 410 BOOKING_ALREADY_USED there too, with `used_at` (venue time) so that
the counter can say when and offer to unuse it. Unlike `use`, GET never changes anything.
"""

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import models
from booking.api.convert import STATUS_FROM_PB, booking_pb, unused_event, used_event
from booking.catalog_client import CatalogClient, catalog_unavailable
from booking.domain import countermark as countermarks
from booking.domain import rules
from booking.settings import BookingSettings
from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import counter_service_pb2_grpc as pb_grpc
from pclib import pagination
from pclib.auth import Principal, require_role
from pclib.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from pclib.grpc_client import error_info
from pclib.outbox import add_event

PRO_ROLES = ("pro", "admin")
# Not (or never) a booking for the cinema: still being reserved, or refused.
HIDDEN_STATUSES = ("PENDING", "FAILED")
NIL_ID = uuid.UUID(int=0)


def countermark_not_found() -> NotFound:
    # No detail of what was typed or found: the answer must not depend on it.
    return NotFound("COUNTERMARK_NOT_FOUND", "no booking with this countermark")


@dataclass
class Found:
    booking: models.Booking
    beneficiary: models.Beneficiary
    venue: models.Venue

    def message(self):
        return booking_pb(self.booking, self.beneficiary, self.venue)


def _bookings_with_people() -> Select:
    return (
        select(models.Booking, models.Beneficiary, models.Venue)
        .join(models.Beneficiary, models.Beneficiary.id == models.Booking.beneficiary_id)
        .join(models.Venue, models.Venue.id == models.Booking.venue_id)
        .where(models.Booking.status.not_in(HIDDEN_STATUSES))
    )


def _of_offerers(query: Select, offerer_ids: set[uuid.UUID] | None) -> Select:
    """None means every offerer (an admin)."""
    if offerer_ids is None:
        return query
    return query.where(models.Booking.offerer_id.in_(offerer_ids))


async def _find(
    session: AsyncSession, countermark: str, offerer_ids: set[uuid.UUID] | None, *, lock: bool
) -> Found | None:
    query = _of_offerers(_bookings_with_people(), offerer_ids).where(
        models.Booking.countermark == countermark
    )
    if lock:
        # A concurrent use, unuse or cancellation waits for this transaction, then sees its result.
        query = query.with_for_update(of=models.Booking)
    row = (await session.execute(query)).one_or_none()
    return Found(*row) if row is not None else None


# --- what the counter does with a booking it found ------------------------------------------

Action = Callable[[AsyncSession, Found, datetime], Awaitable[None]]


async def check_usable(session: AsyncSession, found: Found, now: datetime) -> None:
    booking, timezone = found.booking, found.venue.timezone
    try:
        rules.check_usable(booking.status, booking.cancellation_limit_at, now, timezone)
    except FailedPrecondition as error:
        if error.reason == "BOOKING_ALREADY_USED" and booking.used_at is not None:
            # Lets the counter say when it was validated.
            error.metadata["used_at"] = rules.local_time(booking.used_at, timezone)
        raise


async def use(session: AsyncSession, found: Found, now: datetime) -> None:
    await check_usable(session, found, now)
    booking = found.booking
    booking.status, booking.used_at, booking.validated_by = "USED", now, "OFFERER"
    await add_event(session, "booking.used", used_event(booking, found.venue, now, "OFFERER"))


async def unuse(session: AsyncSession, found: Found, now: datetime) -> None:
    booking = found.booking
    rules.check_unusable(booking.status)
    booking.status, booking.used_at, booking.validated_by = "CONFIRMED", None, None
    await add_event(session, "booking.unused", unused_event(booking, found.venue, now))


# --- throttling -----------------------------------------------------------------------------


class Throttle:
    """At most `max_failures` wrong countermarks per account within a sliding window."""

    def __init__(self, sessions: async_sessionmaker, max_failures: int, window_seconds: int):
        self._sessions = sessions
        self._max = max(1, max_failures)
        self._window = timedelta(seconds=window_seconds)

    async def check(self, user_id: str, now: datetime) -> None:
        async with self._sessions() as session:
            recent = list(
                await session.scalars(
                    select(models.CounterFailure.at)
                    .where(
                        models.CounterFailure.user_id == user_id,
                        models.CounterFailure.at > now - self._window,
                    )
                    .order_by(models.CounterFailure.at.desc())
                    .limit(self._max)
                )
            )
        if len(recent) < self._max:
            return
        # Once the max-th most recent failure leaves the window, fewer than the max remain.
        wait = (recent[-1] + self._window - now).total_seconds()
        raise ResourceExhausted(
            "TOO_MANY_ATTEMPTS",
            "too many wrong countermarks: try again later",
            retry_after_seconds=max(1, math.ceil(wait)),
        )

    async def record_failure(self, user_id: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            session.add(models.CounterFailure(user_id=user_id, at=now))
            await session.execute(
                delete(models.CounterFailure).where(models.CounterFailure.at <= now - self._window)
            )


# --- the service ----------------------------------------------------------------------------


def _caller_metadata(context: grpc.aio.ServicerContext) -> tuple:
    """The caller's own token, for the catalog to check which offerers it belongs to."""
    return tuple(
        (key, value)
        for key, value in (context.invocation_metadata() or ())
        if key == "authorization"
    )


def _catalog_failure(error: grpc.aio.AioRpcError) -> DomainError | None:
    """What to answer when the catalog could not tell the caller's offerers (None: internal)."""
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        info = error_info(error)
        return Unauthenticated(info.reason or "INVALID_TOKEN", info.message)
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return catalog_unavailable()
    return None


def _filter_id(value: str) -> uuid.UUID:
    """A list filter: a malformed id matches nothing."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return NIL_ID


class CounterServicer(pb_grpc.CounterServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker, catalog: CatalogClient, settings: BookingSettings
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._throttle = Throttle(
            sessions, settings.counter_max_failures, settings.counter_window_seconds
        )

    async def GetCountermark(self, request, context):
        found = await self._at_counter(request.countermark, context, check_usable, lock=False)
        return pb.GetCountermarkResponse(booking=found.message())

    async def UseCountermark(self, request, context):
        found = await self._at_counter(request.countermark, context, use, lock=True)
        return pb.UseCountermarkResponse(booking=found.message())

    async def UnuseCountermark(self, request, context):
        found = await self._at_counter(request.countermark, context, unuse, lock=True)
        return pb.UnuseCountermarkResponse(booking=found.message())

    async def ListProBookings(self, request, context):
        principal = require_role(*PRO_ROLES)
        offerer_ids = await self._offerers_of(principal, context)
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        query = _of_offerers(_bookings_with_people(), offerer_ids)
        if request.venue_id:
            query = query.where(models.Booking.venue_id == _filter_id(request.venue_id))
        if request.status:
            if request.status not in STATUS_FROM_PB:
                raise InvalidArgument("INVALID_STATUS", "unknown booking status")
            query = query.where(models.Booking.status == STATUS_FROM_PB[request.status])
        query = query.order_by(models.Booking.booked_at.desc(), models.Booking.id.desc())
        async with self._sessions() as session:
            rows = (await session.execute(query.offset(offset).limit(size + 1))).all()
        return pb.ListProBookingsResponse(
            bookings=[Found(*row).message() for row in rows[:size]],
            next_page_token=pagination.next_token(offset, size, len(rows)),
        )

    async def _at_counter(
        self, typed: str, context: grpc.aio.ServicerContext, act: Action, *, lock: bool
    ) -> Found:
        """Finds the caller's booking by countermark and acts on it in one transaction."""
        principal = require_role(*PRO_ROLES)
        now = datetime.now(UTC)
        await self._throttle.check(principal.subject, now)
        offerer_ids = await self._offerers_of(principal, context)
        countermark = countermarks.normalize(typed)
        if countermark is not None:
            async with self._sessions.begin() as session:
                found = await _find(session, countermark, offerer_ids, lock=lock)
                if found is not None:
                    await act(session, found, now)
                    return found
        await self._throttle.record_failure(principal.subject, now)
        raise countermark_not_found()

    async def _offerers_of(
        self, principal: Principal, context: grpc.aio.ServicerContext
    ) -> set[uuid.UUID] | None:
        """The caller's offerers; None for an admin, who sees every offerer."""
        if principal.role == "admin":
            return None
        try:
            return await self._catalog.offerer_ids_of(_caller_metadata(context))
        except grpc.aio.AioRpcError as error:
            failure = _catalog_failure(error)
            if failure is None:
                raise
            raise failure from error
