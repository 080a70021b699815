"""The booking saga: the booking service coordinates, the catalog is the authority on seats.

1. One transaction: lock the beneficiary's credit row, check it, insert the booking PENDING
   (from then on it counts against the credit).
2. Catalog ReserveStock with reservation_id = booking id: idempotent, refused once released.
3. One transaction: CONFIRMED + outbox `booking.created`, or FAILED when the seats were refused.

A crash or a silent catalog between 2 and 3 leaves the booking PENDING: the reconciler settles it
by asking the catalog (reserved → confirm; never heard of → release, leaving a tombstone so that
a late ReserveStock never holds seats, and fail). Every transition is conditional on
status = 'PENDING', so the request path, retries and several reconcilers never apply two outcomes.
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import Row, exists, func, null, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import credits, events, lifecycle, queries
from booking.catalog_client import CatalogClient, SeatsRefused, StockDetails, catalog_unavailable
from booking.domain import credit as credit_rules
from booking.domain import rules
from booking.domain.status import ACTIVE_STATUSES, BookingStatus
from booking.models import Beneficiary, Booking, Credit, Venue
from booking.queries import BookingView
from passculture.booking.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib.db import autocommit_engine
from pclib.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from pclib.topology import sleep_unless_stopped

log = logging.getLogger(__name__)

RECONCILE_BATCH = 100

_REFUSAL_TYPES: dict[Reason, type[DomainError]] = {
    Reason.STOCK_NOT_FOUND: NotFound,
    Reason.INVALID_QUANTITY: InvalidArgument,
}
_REFUSAL_MESSAGES = {
    Reason.SOLD_OUT: "not enough places left",
    Reason.NOT_BOOKABLE: "this showtime cannot be booked",
    Reason.BOOKING_TIMED_OUT: "the places could not be reserved in time, please book again",
}


def refusal(reason: Reason) -> DomainError:
    """The error a client gets for seats refused by the catalog (or given up by the reconciler),
    the first time and on every retry with the same Idempotency-Key."""
    error_type = _REFUSAL_TYPES.get(reason, FailedPrecondition)
    return error_type(reason, _REFUSAL_MESSAGES.get(reason, reason))


def _failure_reason(booking: Booking) -> Reason:
    """Why a FAILED booking failed, as stored (a value this version does not know: not
    bookable)."""
    try:
        return Reason(booking.failure_reason or Reason.BOOKING_TIMED_OUT)
    except ValueError:
        return Reason.NOT_BOOKABLE


def _stock_uuid(stock_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(stock_id)
    except ValueError:
        raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found") from None


def _check_stock(stock: StockDetails, quantity: int) -> None:
    rules.check_quantity(quantity, stock.is_duo)
    remaining = stock.remaining_quantity
    if not stock.is_bookable:
        raise refusal(Reason.SOLD_OUT if remaining == 0 else Reason.NOT_BOOKABLE)
    if remaining is not None and remaining < quantity:
        raise refusal(Reason.SOLD_OUT)


async def _upsert_venue(session: AsyncSession, stock: StockDetails, current: Venue | None) -> Venue:
    """Keeps the local copy of the venue current (`current`: as read); writes (and locks) only
    when it changed. Returns the venue as it now is."""
    values = {
        "offerer_id": stock.offerer_id,
        "offerer_siren": stock.offerer_siren,
        "name": stock.venue_name,
        "siret": stock.venue_siret,
        "booking_email": stock.venue_booking_email,
        "timezone": stock.venue_timezone,
    }
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        return current
    upsert = insert(Venue).values(id=stock.venue_id, **values)
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Venue.id], set_={**values, "updated_at": func.now()}
        )
    )
    return Venue(id=stock.venue_id, **values)


async def _after_lock(
    session: AsyncSession,
    credit: Credit,
    offer_id: uuid.UUID,
    venue_id: uuid.UUID,
    key: str | None,
) -> Row:
    """What step 1 reads once the credit is locked (so that it sees what a concurrent booking
    of this beneficiary committed), in one round trip: the beneficiary (for the answer), the
    local copy of the venue (None when unknown yet), the id of the booking made with this
    Idempotency-Key, whether this offer is already booked, and the cents the credit spent."""
    beneficiary_id = credit.beneficiary_id
    by_key = (
        select(Booking.id)
        .where(Booking.beneficiary_id == beneficiary_id, Booking.idempotency_key == key)
        .scalar_subquery()
        if key
        else null()
    )
    held = exists().where(
        Booking.beneficiary_id == beneficiary_id,
        Booking.offer_id == offer_id,
        Booking.status.in_(ACTIVE_STATUSES),
    )
    query = (
        select(
            Beneficiary,
            Venue,
            by_key.label("existing_id"),
            held.label("held"),
            credits.spent(credit.id).scalar_subquery().label("spent"),
        )
        .outerjoin(Venue, Venue.id == venue_id)
        .where(Beneficiary.id == beneficiary_id)
    )
    return (await session.execute(query)).one()


async def _by_key(session: AsyncSession, beneficiary_id: uuid.UUID, key: str) -> Booking | None:
    return await session.scalar(
        select(Booking).where(
            Booking.beneficiary_id == beneficiary_id, Booking.idempotency_key == key
        )
    )


class BookingSaga:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], catalog: CatalogClient) -> None:
        self._sessions = sessions
        # Single reads: one round trip each, no BEGIN and no ROLLBACK.
        self._reads = async_sessionmaker(autocommit_engine(sessions), expire_on_commit=False)
        self._catalog = catalog

    # --- the request path -------------------------------------------------------------------

    async def create(
        self,
        beneficiary_id: uuid.UUID,
        stock_id: str,
        quantity: int,
        idempotency_key: str | None,
    ) -> BookingView:
        """Books, or answers the first outcome again for a retry with the same key."""
        stock_uuid = _stock_uuid(stock_id)
        if idempotency_key:
            async with self._sessions() as session:
                existing = await _by_key(session, beneficiary_id, idempotency_key)
            if existing is not None:
                return await self._replay(existing, stock_uuid, quantity)
        stock = await self._stock(stock_id)
        _check_stock(stock, quantity)
        booking, opened = await self._open(beneficiary_id, stock, quantity, idempotency_key)
        if opened is None:
            return await self._replay(booking, stock_uuid, quantity)
        return await self._reserve_and_settle(booking, opened)

    async def _stock(self, stock_id: str) -> StockDetails:
        try:
            stock = await self._catalog.get_stock(stock_id)
        except grpc.aio.AioRpcError as error:
            log.warning("catalog GetStock failed: %s %s", error.code(), error.details())
            raise catalog_unavailable() from None
        if stock is None:
            raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
        return stock

    async def _open(
        self,
        beneficiary_id: uuid.UUID,
        stock: StockDetails,
        quantity: int,
        idempotency_key: str | None,
    ) -> tuple[Booking, tuple[Beneficiary, Venue] | None]:
        """Step 1: the booking PENDING with its beneficiary and venue, or (booking, None): the
        one a concurrent call with this key made."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            credit = await credits.lock(session, beneficiary_id)
            if credit is None:
                raise PermissionDenied(Reason.NO_CREDIT, "no credit was granted to you")
            facts = await _after_lock(
                session, credit, stock.offer_id, stock.venue_id, idempotency_key
            )
            if facts.existing_id is not None:
                return await session.get_one(Booking, facts.existing_id), None
            if now >= credit.expires_at:
                raise PermissionDenied(Reason.CREDIT_EXPIRED, "your credit has expired")
            if facts.held:
                raise FailedPrecondition(Reason.ALREADY_BOOKED, "you already booked this film here")
            remaining = credit_rules.remaining(
                credit.initial_cents, facts.spent, credit.expires_at, now
            )
            if remaining < stock.price_cents * quantity:
                raise FailedPrecondition(Reason.INSUFFICIENT_CREDIT, "your credit is not enough")
            venue = await _upsert_venue(session, stock, facts.Venue)
            booking = await lifecycle.create(
                session,
                beneficiary_id=beneficiary_id,
                credit_id=credit.id,
                idempotency_key=idempotency_key,
                quantity=quantity,
                amount_cents=stock.price_cents,
                stock_id=stock.stock_id,
                offer_id=stock.offer_id,
                offer_title=stock.offer_title,
                features=stock.features,
                venue_id=stock.venue_id,
                offerer_id=stock.offerer_id,
                starts_at=stock.starts_at,
                booked_at=now,
                cancellation_limit_at=rules.cancellation_limit(stock.starts_at, now),
            )
        return booking, (facts.Beneficiary, venue)

    async def _replay(self, booking: Booking, stock_id: uuid.UUID, quantity: int) -> BookingView:
        if booking.stock_id != stock_id or booking.quantity != quantity:
            raise FailedPrecondition(
                common.Reason.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for another booking",
            )
        if booking.status == BookingStatus.PENDING:
            # Drive the saga on: ReserveStock is idempotent on the booking id.
            return await self._reserve_and_settle(booking)
        return await self._outcome(booking.id)

    async def _reserve_and_settle(
        self, booking: Booking, opened: tuple[Beneficiary, Venue] | None = None
    ) -> BookingView:
        """Steps 2 and 3; the answer is the booking's final state, whoever settled it.

        `opened`: the beneficiary and venue step 1 just read, so that the answer needs no
        further read when this call settles the booking itself."""
        try:
            await self._catalog.reserve(booking.stock_id, booking.quantity, booking.id)
        except SeatsRefused as refused:
            async with self._sessions.begin() as session:
                failed = await lifecycle.fail(session, booking.id, refused.reason)
            if failed is not None:
                raise refusal(refused.reason) from None
        except grpc.aio.AioRpcError as error:
            # The seats may or may not be held: leave it PENDING for the reconciler.
            log.warning("catalog ReserveStock failed for %s: %s", booking.id, error.code())
            raise catalog_unavailable() from None
        else:
            confirmed = await self._confirm(booking.id, opened[1] if opened else None)
            if confirmed is not None and opened is not None:
                return BookingView(confirmed, *opened)
        return await self._outcome(booking.id)

    async def _confirm(self, booking_id: uuid.UUID, venue: Venue | None) -> Booking | None:
        """Step 3; None when the booking was no longer PENDING."""
        async with self._sessions.begin() as session:
            confirmed = await lifecycle.confirm(session, booking_id, venue)
            if confirmed is None:
                return None
            booking, event = confirmed
            await events.record(session, event)
        return booking

    async def _outcome(self, booking_id: uuid.UUID) -> BookingView:
        async with self._reads() as session:
            view = await queries.by_id(session, booking_id)
        assert view is not None  # this booking was read or written by this very call
        if view.booking.status == BookingStatus.FAILED:
            raise refusal(_failure_reason(view.booking))
        if view.booking.status == BookingStatus.PENDING:
            raise catalog_unavailable()
        return view

    # --- the reconciler ---------------------------------------------------------------------

    async def settle(self, booking_id: uuid.UUID) -> BookingStatus | None:
        """Settles a PENDING booking from what the catalog knows; returns its new status, or
        None when it is not PENDING (or another reconciler is settling it).

        The row stays locked while the catalog is asked, so that the request path's own
        transition waits for this one and then finds the booking settled.
        """
        async with self._sessions.begin() as session:
            pending = await session.scalar(
                select(Booking.id)
                .where(Booking.id == booking_id, Booking.status == BookingStatus.PENDING)
                .with_for_update(skip_locked=True)
            )
            if pending is None:
                return None
            reserved = await self._catalog.is_reserved(booking_id)
            if reserved is None:
                await self._catalog.release(booking_id)
            if reserved:
                confirmed = await lifecycle.confirm(session, booking_id)
                assert confirmed is not None  # locked PENDING above
                await events.record(session, confirmed[1])
                return BookingStatus.CONFIRMED
            await lifecycle.fail(session, booking_id, Reason.BOOKING_TIMED_OUT)
            return BookingStatus.FAILED

    async def reconcile_once(self, older_than: float) -> int:
        """Settles the PENDING bookings older than `older_than` seconds (one batch); returns
        how many it settled."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        async with self._sessions() as session:
            pending = await session.scalars(
                select(Booking.id)
                .where(Booking.status == BookingStatus.PENDING, Booking.booked_at <= cutoff)
                .order_by(Booking.booked_at)
                .limit(RECONCILE_BATCH)
            )
            booking_ids = pending.all()
        settled = 0
        for booking_id in booking_ids:
            try:
                if await self.settle(booking_id) is not None:
                    settled += 1
            except grpc.aio.AioRpcError as error:
                log.warning("could not settle booking %s: %s", booking_id, error.code())
        return settled

    async def run_reconciler(self, stop: asyncio.Event, interval: float, older_than: float) -> None:
        while not stop.is_set():
            try:
                settled = await self.reconcile_once(older_than)
            except Exception:
                log.exception("reconciler pass failed")
                settled = 0
            if settled:
                log.info("reconciler settled bookings", extra={"settled": settled})
            if settled < RECONCILE_BATCH:
                await sleep_unless_stopped(stop, interval)
