"""CounterService: the pro's side of bookings, the counter ("guichet") and the bookings list.

A booking of an offerer the caller does not belong to is searched with the very query that
finds nothing for an unknown countermark (the caller's offerers are part of the WHERE clause):
both answer the same NOT_FOUND after the same work, so nothing tells them apart. Every wrong
countermark is counted against the caller's account, to throttle guessing.

A QR payload works as its countermark: v3 (`PASSCULTURE:v3;TOKEN:…`) as read, v4 (a signed
ticket) once its signature is checked (a forged one is an unknown countermark). The barcode of a
ticket issued by the venue's ticketing system finds its booking too. A use may carry
`validated_at`, the time a counter validated the ticket offline: the same use, lock and answers.

The revoked tickets of a venue (booking.revocations) are answered for a venue of the caller's
offerers only: another offerer's is VENUE_NOT_FOUND, like an unknown one.

GET answers the errors `use` would (the HTTP contract lists the counter errors "for GET and
use"): a used booking is BOOKING_ALREADY_USED there too, with `used_at` (venue time) so that
the counter can say when and offer to unuse it. Unlike `use`, GET never changes anything.
"""

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from google.protobuf.message import Message
from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import events, lifecycle, queries, revocations
from booking.api.access import caller_metadata
from booking.api.convert import STATUS_FROM_PB, booking_pb
from booking.catalog_client import CatalogClient
from booking.domain import countermark as countermarks
from booking.domain import rules
from booking.domain.status import ValidationAuthor
from booking.models import Booking, Venue
from booking.queries import BookingView
from booking.settings import BookingSettings
from booking.throttle import Throttle
from booking.tickets import TicketKeys
from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import counter_service_pb2_grpc as pb_grpc
from passculture.booking.v1.reasons import Reason
from pclib import pagination
from pclib.auth import Principal, require_role
from pclib.errors import InvalidArgument, NotFound
from pclib.timestamps import optional_datetime, timestamp

PRO_ROLES = ("pro", "admin", "provider")
NIL_ID = uuid.UUID(int=0)

# What the counter does with a booking it found: the event to record, if any.
Action = Callable[[BookingView, datetime], Message | None]


def check(view: BookingView, now: datetime) -> None:
    booking = view.booking
    rules.check_usable(
        booking.status, booking.cancellation_limit_at, now, view.venue.timezone, booking.used_at
    )


def use(view: BookingView, now: datetime, validated_at: datetime | None = None) -> Message:
    return lifecycle.use(view.booking, view.venue, now, ValidationAuthor.OFFERER, validated_at)


def unuse(view: BookingView, now: datetime) -> Message:
    return lifecycle.unuse(view.booking, view.venue, now)


def countermark_not_found() -> NotFound:
    # No detail of what was typed or found: the answer must not depend on it.
    return NotFound(Reason.COUNTERMARK_NOT_FOUND, "no booking with this countermark")


def venue_not_found() -> NotFound:
    return NotFound(Reason.VENUE_NOT_FOUND, "venue not found")


def _filter_id(value: str) -> uuid.UUID:
    """A list filter: a malformed id matches nothing."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return NIL_ID


class CounterServicer(pb_grpc.CounterServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: CatalogClient,
        settings: BookingSettings,
        tickets: TicketKeys,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._tickets = tickets
        self._throttle = Throttle(
            sessions, settings.counter_max_failures, settings.counter_window_seconds
        )

    async def GetCountermark(
        self, request: pb.GetCountermarkRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCountermarkResponse:
        view = await self._at_counter(request.countermark, context, check, lock=False)
        return pb.GetCountermarkResponse(booking=booking_pb(*view))

    async def UseCountermark(
        self, request: pb.UseCountermarkRequest, context: grpc.aio.ServicerContext
    ) -> pb.UseCountermarkResponse:
        validated_at = optional_datetime(request, "validated_at")
        act = functools.partial(use, validated_at=validated_at)
        view = await self._at_counter(request.countermark, context, act, lock=True)
        return pb.UseCountermarkResponse(booking=booking_pb(*view))

    async def UnuseCountermark(
        self, request: pb.UnuseCountermarkRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnuseCountermarkResponse:
        view = await self._at_counter(request.countermark, context, unuse, lock=True)
        return pb.UnuseCountermarkResponse(booking=booking_pb(*view))

    async def ListProBookings(
        self, request: pb.ListProBookingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProBookingsResponse:
        principal = require_role(*PRO_ROLES)
        offerer_ids = await self._offerers_of(principal, context)
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        query = queries.of_offerers(offerer_ids)
        if request.venue_id:
            query = query.where(Booking.venue_id == _filter_id(request.venue_id))
        if request.stock_id:
            query = query.where(Booking.stock_id == _filter_id(request.stock_id))
        if request.status:
            if request.status not in STATUS_FROM_PB:
                raise InvalidArgument(Reason.INVALID_STATUS, "unknown booking status")
            query = query.where(Booking.status == STATUS_FROM_PB[request.status])
        query = query.order_by(Booking.booked_at.desc(), Booking.id.desc())
        async with self._sessions() as session:
            views = await queries.many(session, query.offset(offset).limit(size + 1))
        return pb.ListProBookingsResponse(
            bookings=[booking_pb(*view) for view in views[:size]],
            next_page_token=pagination.next_token(offset, size, len(views)),
        )

    async def ListTicketKeys(
        self, request: pb.ListTicketKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTicketKeysResponse:
        return pb.ListTicketKeysResponse(
            keys=[
                pb.TicketKey(key_id=kid, public_key=key.public_bytes_raw())
                for kid, key in self._tickets.public_keys.items()
            ]
        )

    async def ListRevokedTickets(
        self, request: pb.ListRevokedTicketsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRevokedTicketsResponse:
        principal = require_role(*PRO_ROLES)
        offerer_ids = await self._offerers_of(principal, context)
        since = optional_datetime(request, "since")
        async with self._sessions() as session:
            venue = await session.get(Venue, _filter_id(request.venue_id))
            if venue is None or (offerer_ids is not None and venue.offerer_id not in offerer_ids):
                raise venue_not_found()
            window = rules.revocation_window_start(datetime.now(UTC), venue.timezone)
            found = await revocations.of_venue(session, venue.id, window, since)
        return pb.ListRevokedTicketsResponse(
            revoked_booking_ids=[str(booking_id) for booking_id in found.revoked],
            restored_booking_ids=[str(booking_id) for booking_id in found.restored],
            next_since=timestamp(found.next_since),
        )

    def _countermark_of(self, typed: str) -> str | None:
        """The countermark a pro typed, or of a QR payload (a v4 one's signature checked)."""
        ticket = countermarks.signed_ticket(typed)
        if ticket is not None:
            return self._tickets.countermark_of(ticket)
        return countermarks.normalize(typed)

    def _matches(self, typed: str) -> list[ColumnElement[bool]]:
        """What finds the booking: its countermark (typed, or in a QR payload), or a barcode of
        its venue's ticketing system."""
        matches = []
        if (countermark := self._countermark_of(typed)) is not None:
            matches.append(Booking.countermark == countermark)
        if (barcode := countermarks.barcode(typed)) is not None:
            matches.append(Booking.external_barcodes.contains([barcode]))
        return matches

    async def _at_counter(
        self, typed: str, context: grpc.aio.ServicerContext, act: Action, *, lock: bool
    ) -> BookingView:
        """Finds the caller's booking by countermark and acts on it in one transaction."""
        principal = require_role(*PRO_ROLES)
        now = datetime.now(UTC)
        await self._throttle.check(principal.subject, now)
        offerer_ids = await self._offerers_of(principal, context)
        matches = self._matches(typed)
        if matches:
            query = queries.of_offerers(offerer_ids).where(or_(*matches)).limit(1)
            if lock:
                # A concurrent use, unuse or cancellation waits, then sees this one's result.
                query = query.with_for_update(of=Booking)
            async with self._sessions.begin() as session:
                view = await queries.one(session, query)
                if view is not None:
                    if event := act(view, now):
                        await events.record(session, event)
                    return view
        await self._throttle.record_failure(principal.subject, now)
        raise countermark_not_found()

    async def _offerers_of(
        self, principal: Principal, context: grpc.aio.ServicerContext
    ) -> set[uuid.UUID] | None:
        """The caller's offerers; None for an admin, who sees every offerer."""
        if principal.role == "admin":
            return None
        return await self._catalog.offerer_ids_of(caller_metadata(context))
