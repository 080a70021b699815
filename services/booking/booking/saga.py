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
import os
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import Row, exists, func, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.api.convert import booking_facts, timestamp
from booking.catalog_client import CatalogClient, SeatsRefused, StockDetails, catalog_unavailable
from booking.domain import credit as credit_rules
from booking.domain import rules
from booking.domain.countermark import new_countermark
from booking.domain.status import ACTIVE_STATUSES
from booking.models import Beneficiary, Booking, Credit, Venue
from passculture.booking.v1 import events_pb2
from pclib.db import autocommit_engine
from pclib.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from pclib.outbox import add_event
from pclib.topology import sleep_unless_stopped

log = logging.getLogger(__name__)

COUNTERMARK_ATTEMPTS = 20
RECONCILE_BATCH = 100
# Why the reconciler fails a booking whose seats were never reserved in time.
TIMED_OUT = "BOOKING_TIMED_OUT"

BookingView = tuple[Booking, Beneficiary, Venue]


_REFUSAL_TYPES = {"STOCK_NOT_FOUND": NotFound, "INVALID_QUANTITY": InvalidArgument}
_REFUSAL_MESSAGES = {
    "SOLD_OUT": "not enough places left",
    "NOT_BOOKABLE": "this showtime cannot be booked",
    TIMED_OUT: "the places could not be reserved in time, please book again",
}


def refusal(reason: str) -> DomainError:
    """The error a client gets for seats refused by the catalog (or given up by the reconciler),
    the first time and on every retry with the same Idempotency-Key."""
    error_type = _REFUSAL_TYPES.get(reason, FailedPrecondition)
    return error_type(reason, _REFUSAL_MESSAGES.get(reason, reason))


def _spent(credit_id: uuid.UUID):
    total = func.coalesce(func.sum(Booking.amount_cents * Booking.quantity), 0)
    return select(total).where(Booking.credit_id == credit_id, Booking.status.in_(ACTIVE_STATUSES))


async def spent_cents(session: AsyncSession, credit_id: uuid.UUID) -> int:
    return await session.scalar(_spent(credit_id))


async def remaining_cents(session: AsyncSession, credit: Credit, now: datetime) -> int:
    spent = await spent_cents(session, credit.id)
    return credit_rules.remaining(credit.initial_cents, spent, credit.expires_at, now)


def _stock_uuid(stock_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(stock_id)
    except ValueError:
        raise NotFound("STOCK_NOT_FOUND", "stock not found") from None


def _check_stock(stock: StockDetails, quantity: int) -> None:
    rules.check_quantity(quantity, stock.is_duo)
    remaining = stock.remaining_quantity
    if not stock.is_bookable:
        raise refusal("SOLD_OUT" if remaining == 0 else "NOT_BOOKABLE")
    if remaining is not None and remaining < quantity:
        raise refusal("SOLD_OUT")


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


async def _lock_credit(session: AsyncSession, beneficiary_id: uuid.UUID) -> Credit | None:
    """Serialises every booking of this beneficiary: no overspend, no double booking."""
    return await session.scalar(
        select(Credit).where(Credit.beneficiary_id == beneficiary_id).with_for_update()
    )


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
            _spent(credit.id).scalar_subquery().label("spent"),
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


async def _insert_booking(session: AsyncSession, values: dict) -> Booking:
    """Inserts with a fresh countermark, drawing again when it is taken."""
    for _ in range(COUNTERMARK_ATTEMPTS):
        statement = (
            insert(Booking)
            .values(countermark=new_countermark(), **values)
            .on_conflict_do_nothing(index_elements=[Booking.countermark])
            .returning(Booking)
        )
        booking = await session.scalar(statement)
        if booking is not None:
            return booking
    raise RuntimeError("no free countermark found")


async def _transition(
    session: AsyncSession, booking_id: uuid.UUID, status: str, **values
) -> Booking | None:
    """PENDING → status; None when the booking was no longer PENDING."""
    statement = (
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == "PENDING")
        .values(status=status, **values)
        .returning(Booking)
        .execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


async def _publish_created(
    session: AsyncSession, booking: Booking, venue: Venue | None = None
) -> None:
    if venue is None:
        venue = await session.get(Venue, booking.venue_id)
    event = events_pb2.BookingCreated(
        booking=booking_facts(booking, venue), booked_at=timestamp(booking.booked_at)
    )
    await add_event(session, "booking.created", event)


class BookingSaga:
    def __init__(
        self,
        sessions: async_sessionmaker,
        catalog: CatalogClient,
        crash_after_reserve: bool = False,
    ) -> None:
        self._sessions = sessions
        # Single reads: one round trip each, no BEGIN and no ROLLBACK.
        self._reads = async_sessionmaker(autocommit_engine(sessions), expire_on_commit=False)
        self._catalog = catalog
        self._crash_after_reserve = crash_after_reserve

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
            raise NotFound("STOCK_NOT_FOUND", "stock not found")
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
            credit = await _lock_credit(session, beneficiary_id)
            if credit is None:
                raise PermissionDenied("NO_CREDIT", "no credit was granted to you")
            facts = await _after_lock(
                session, credit, stock.offer_id, stock.venue_id, idempotency_key
            )
            if facts.existing_id is not None:
                return await session.get(Booking, facts.existing_id), None
            if now >= credit.expires_at:
                raise PermissionDenied("CREDIT_EXPIRED", "your credit has expired")
            if facts.held:
                raise FailedPrecondition("ALREADY_BOOKED", "you already booked this film here")
            remaining = credit_rules.remaining(
                credit.initial_cents, facts.spent, credit.expires_at, now
            )
            if remaining < stock.price_cents * quantity:
                raise FailedPrecondition("INSUFFICIENT_CREDIT", "your credit is not enough")
            venue = await _upsert_venue(session, stock, facts.Venue)
            booking = await _insert_booking(
                session,
                {
                    "beneficiary_id": beneficiary_id,
                    "credit_id": credit.id,
                    "idempotency_key": idempotency_key,
                    "status": "PENDING",
                    "quantity": quantity,
                    "amount_cents": stock.price_cents,
                    "stock_id": stock.stock_id,
                    "offer_id": stock.offer_id,
                    "offer_title": stock.offer_title,
                    "features": stock.features,
                    "venue_id": stock.venue_id,
                    "offerer_id": stock.offerer_id,
                    "starts_at": stock.starts_at,
                    "booked_at": now,
                    "cancellation_limit_at": rules.cancellation_limit(stock.starts_at, now),
                },
            )
        return booking, (facts.Beneficiary, venue)

    async def _replay(self, booking: Booking, stock_id: uuid.UUID, quantity: int) -> BookingView:
        if booking.stock_id != stock_id or booking.quantity != quantity:
            raise FailedPrecondition(
                "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for another booking"
            )
        if booking.status == "PENDING":
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
                reason = (refused.reason or "NOT_BOOKABLE")[:32]
                failed = await _transition(session, booking.id, "FAILED", failure_reason=reason)
            if failed is not None:
                raise refusal(reason) from None
        except grpc.aio.AioRpcError as error:
            # The seats may or may not be held: leave it PENDING for the reconciler.
            log.warning("catalog ReserveStock failed for %s: %s", booking.id, error.code())
            raise catalog_unavailable() from None
        else:
            if self._crash_after_reserve:
                os._exit(1)
            venue = opened[1] if opened else None
            confirmed = await self._confirm(booking.id, venue)
            if confirmed is not None and opened is not None:
                return confirmed, *opened
        return await self._outcome(booking.id)

    async def _confirm(self, booking_id: uuid.UUID, venue: Venue | None = None) -> Booking | None:
        """PENDING → CONFIRMED with its event; None when the booking was no longer PENDING."""
        async with self._sessions.begin() as session:
            booking = await _transition(session, booking_id, "CONFIRMED")
            if booking is not None:
                await _publish_created(session, booking, venue)
        return booking

    async def _outcome(self, booking_id: uuid.UUID) -> BookingView:
        async with self._reads() as session:
            booking, beneficiary, venue = (
                await session.execute(
                    select(Booking, Beneficiary, Venue)
                    .join(Beneficiary, Beneficiary.id == Booking.beneficiary_id)
                    .join(Venue, Venue.id == Booking.venue_id)
                    .where(Booking.id == booking_id)
                )
            ).one()
        if booking.status == "FAILED":
            raise refusal(booking.failure_reason or TIMED_OUT)
        if booking.status == "PENDING":
            raise catalog_unavailable()
        return booking, beneficiary, venue

    # --- the reconciler ---------------------------------------------------------------------

    async def settle(self, booking_id: uuid.UUID) -> str | None:
        """Settles a PENDING booking from what the catalog knows; returns its new status, or
        None when it is not PENDING (or another reconciler is settling it).

        The row stays locked while the catalog is asked, so that the request path's own
        transition waits for this one and then finds the booking settled.
        """
        async with self._sessions.begin() as session:
            booking = await session.scalar(
                select(Booking)
                .where(Booking.id == booking_id, Booking.status == "PENDING")
                .with_for_update(skip_locked=True)
            )
            if booking is None:
                return None
            reserved = await self._catalog.is_reserved(booking.id)
            if reserved is None:
                await self._catalog.release(booking.id)
            if reserved:
                booking.status = "CONFIRMED"
                await _publish_created(session, booking)
            else:
                booking.status = "FAILED"
                booking.failure_reason = TIMED_OUT
            return booking.status

    async def reconcile_once(self, older_than: float) -> int:
        """Settles the PENDING bookings older than `older_than` seconds (one batch); returns
        how many it settled."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        async with self._sessions() as session:
            pending = await session.scalars(
                select(Booking.id)
                .where(Booking.status == "PENDING", Booking.booked_at <= cutoff)
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
