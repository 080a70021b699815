"""The booking saga: the booking service coordinates, the catalog is the authority on seats.

0. The showtime's film, venue and price: catalog GetStock, kept a minute (showtimes.py).
1. One statement: the amount reserved on the credit (a conditional UPDATE of its counter) and
   the booking inserted PENDING (lifecycle.open_booking).
2. Catalog ReserveStock with reservation_id = booking id: idempotent, refused once released; it
   answers the showtime's price, start and features as they are when the seats are taken.
2b. A showtime sold through its venue's ticketing system: the import service's BookTickets
   (idempotent on the booking id) takes the seats there and answers the tickets (barcodes,
   seats). Refused (sold out there…): the catalog's seats released, FAILED. No answer: the same,
   the failure passing (503 TICKETING_UNAVAILABLE, the Idempotency-Key free again).
3. One statement: CONFIRMED at those (the credit takes any difference) with the tickets + outbox
   `booking.created`; or FAILED (the amount given back) when the seats were refused, or the
   credit cannot take a price that went up (the seats released).

A crash or a silent catalog between 2 and 3 leaves the booking PENDING: the reconciler settles it
by asking the catalog (reserved → confirm; never heard of → release, leaving a tombstone so that
a late ReserveStock never holds seats, and fail). A ticketing booking left PENDING is failed
(its seats released) once older than the request path's deadlines. Every transition is
conditional on status = 'PENDING', so the request path, retries and several reconcilers never
apply two outcomes. A ticketing booking that ends FAILED has its tickets cancelled in the system
by booking.external_tickets (whatever the system issued: an orphan ticket never stays sold).
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from booking import lifecycle, views
from booking.catalog_client import CatalogClient, SeatsRefused, StockDetails, catalog_unavailable
from booking.domain import rules
from booking.domain.showtime import Showtime
from booking.domain.status import BookingStatus
from booking.models import Beneficiary, Booking, Venue
from booking.queries import BookingView
from booking.showtimes import Showtimes
from booking.ticketing_client import (
    UNAVAILABLE_MESSAGE,
    ExternalTicket,
    TicketingClient,
    TicketsRefused,
)
from passculture.booking.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib import tracing
from pclib.batches import run_in_batches
from pclib.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable

log = logging.getLogger(__name__)

RECONCILE_BATCH = 100

_REFUSAL_TYPES: dict[Reason, type[DomainError]] = {
    Reason.STOCK_NOT_FOUND: NotFound,
    Reason.INVALID_QUANTITY: InvalidArgument,
    Reason.TICKETING_UNAVAILABLE: Unavailable,
}
_REFUSAL_MESSAGES = {
    Reason.SOLD_OUT: "not enough places left",
    Reason.TICKETING_UNAVAILABLE: UNAVAILABLE_MESSAGE,
    Reason.NOT_BOOKABLE: "this showtime cannot be booked",
    Reason.BOOKING_TIMED_OUT: "the places could not be reserved in time, please book again",
}
# The local copy of a venue, as the catalog describes it: written when it changed.
UPSERT_VENUE = """
INSERT INTO venues (id, offerer_id, offerer_siren, name, siret, booking_email, timezone, address,
    postal_code, city)
VALUES (%(id)s, %(offerer_id)s, %(offerer_siren)s, %(name)s, %(siret)s, %(booking_email)s,
        %(timezone)s, %(address)s, %(postal_code)s, %(city)s)
ON CONFLICT (id) DO UPDATE SET offerer_id = EXCLUDED.offerer_id,
    offerer_siren = EXCLUDED.offerer_siren, name = EXCLUDED.name, siret = EXCLUDED.siret,
    booking_email = EXCLUDED.booking_email, timezone = EXCLUDED.timezone,
    address = EXCLUDED.address, postal_code = EXCLUDED.postal_code, city = EXCLUDED.city,
    updated_at = now()
WHERE (venues.offerer_id, venues.offerer_siren, venues.name, venues.siret,
       venues.booking_email, venues.timezone, venues.address, venues.postal_code, venues.city)
    IS DISTINCT FROM (EXCLUDED.offerer_id, EXCLUDED.offerer_siren, EXCLUDED.name,
       EXCLUDED.siret, EXCLUDED.booking_email, EXCLUDED.timezone, EXCLUDED.address,
       EXCLUDED.postal_code, EXCLUDED.city)
"""
PENDING_SINCE = f"""
SELECT id FROM bookings WHERE status = '{BookingStatus.PENDING}' AND booked_at <= %(cutoff)s
    AND (ticketing_reference IS NULL OR booked_at <= %(ticketing_cutoff)s)
ORDER BY booked_at LIMIT %(limit)s
"""  # noqa: S608 (only a status constant is formatted in)


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


def _check_quantity(quantity: int) -> None:
    """1 or 2; whether the offer takes 2 (a duo) is the reservation's to say."""
    rules.check_quantity(quantity, is_duo=True)


def _venue(stock: StockDetails) -> Venue:
    return Venue(
        id=stock.venue_id,
        offerer_id=stock.offerer_id,
        offerer_siren=stock.offerer_siren,
        name=stock.venue_name,
        siret=stock.venue_siret,
        booking_email=stock.venue_booking_email,
        timezone=stock.venue_timezone,
        address=stock.venue_address,
        postal_code=stock.venue_postal_code,
        city=stock.venue_city,
    )


class VenueCopies:
    """Keeps the booking service's copy of each venue current (bookings refer to it): written
    once per process and venue, then again only when the catalog describes it otherwise."""

    def __init__(self) -> None:
        self._written: dict[uuid.UUID, tuple[Any, ...]] = {}

    async def ensure(self, conn: AsyncConnection[Any], venue: Venue) -> None:
        facts = (
            venue.offerer_id,
            venue.offerer_siren,
            venue.name,
            venue.siret,
            venue.booking_email,
            venue.timezone,
            venue.address,
            venue.postal_code,
            venue.city,
        )
        if self._written.get(venue.id) == facts:
            return
        await conn.execute(
            UPSERT_VENUE,
            {
                "id": venue.id,
                "offerer_id": venue.offerer_id,
                "offerer_siren": venue.offerer_siren,
                "name": venue.name,
                "siret": venue.siret,
                "booking_email": venue.booking_email,
                "timezone": venue.timezone,
                "address": venue.address,
                "postal_code": venue.postal_code,
                "city": venue.city,
            },
        )
        self._written[venue.id] = facts


class BookingSaga:
    def __init__(
        self, pool: AsyncConnectionPool, catalog: CatalogClient, ticketing: TicketingClient
    ) -> None:
        self._pool = pool
        self._catalog = catalog
        self._ticketing = ticketing
        self._showtimes = Showtimes(catalog)
        self._venues = VenueCopies()

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
        try:
            _check_quantity(quantity)
            stock = await self._stock(stock_id)
        except DomainError:
            # A retry of a booking made before the showtime was deleted.
            replayed = idempotency_key and await self._replay(beneficiary_id, idempotency_key)
            if replayed:
                return await self._replayed(replayed, stock_uuid, quantity)
            raise
        venue = _venue(stock)
        now = datetime.now(UTC)
        try:
            async with self._pool.connection() as conn:
                await self._venues.ensure(conn, venue)
                opened = await lifecycle.open_booking(
                    conn,
                    now=now,
                    beneficiary_id=beneficiary_id,
                    idempotency_key=idempotency_key,
                    quantity=quantity,
                    amount_cents=stock.price_cents,
                    price_category_label=stock.price_category_label,
                    stock_id=stock.stock_id,
                    offer_id=stock.offer_id,
                    offer_title=stock.offer_title,
                    features=stock.features,
                    venue_id=stock.venue_id,
                    offerer_id=stock.offerer_id,
                    starts_at=stock.starts_at,
                    booked_at=now,
                    cancellation_limit_at=rules.cancellation_limit(stock.starts_at, now),
                    ticketing_reference=stock.ticketing_reference,
                )
        except lifecycle.KeyUsed:
            assert idempotency_key is not None  # no key, no conflict on it
            replayed = await self._replay(beneficiary_id, idempotency_key)
            assert replayed is not None  # the key's booking exists
            return await self._replayed(replayed, stock_uuid, quantity)
        return await self._reserve_and_settle(opened.booking, opened.beneficiary, venue)

    async def _stock(self, stock_id: str) -> StockDetails:
        try:
            stock = await self._showtimes.get(stock_id)
        except grpc.aio.AioRpcError as error:
            log.warning("catalog GetStock failed: %s %s", error.code(), error.details())
            raise catalog_unavailable() from None
        if stock is None:
            raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
        return stock

    async def _replay(self, beneficiary_id: uuid.UUID, key: str) -> BookingView | None:
        async with self._pool.connection() as conn:
            return await views.by_key(conn, beneficiary_id, key)

    async def _replayed(self, view: BookingView, stock_id: uuid.UUID, quantity: int) -> BookingView:
        booking = view.booking
        if booking.stock_id != stock_id or booking.quantity != quantity:
            raise FailedPrecondition(
                common.Reason.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for another booking",
            )
        if booking.status == BookingStatus.PENDING:
            # Drive the saga on: ReserveStock is idempotent on the booking id.
            return await self._reserve_and_settle(booking, view.beneficiary, view.venue)
        return self._outcome(view)

    async def _reserve_and_settle(
        self, booking: Booking, beneficiary: Beneficiary, venue: Venue
    ) -> BookingView:
        """Steps 2 and 3; the answer is the booking's final state, whoever settled it."""
        try:
            showtime = await self._catalog.reserve(booking.stock_id, booking.quantity, booking.id)
        except SeatsRefused as refused:
            self._showtimes.forget(str(booking.stock_id))
            await self._fail(booking.id, refused.reason)
        except grpc.aio.AioRpcError as error:
            # The seats may or may not be held: leave it PENDING for the reconciler.
            log.warning("catalog ReserveStock failed for %s: %s", booking.id, error.code())
            raise catalog_unavailable() from None
        else:
            tickets = await self._book_tickets(booking, beneficiary)
            if tickets is not None and await self._confirm(booking, venue, showtime, tickets):
                return BookingView(booking, beneficiary, venue)
        return await self._settled(booking.id)

    async def _book_tickets(
        self, booking: Booking, beneficiary: Beneficiary
    ) -> list[ExternalTicket] | None:
        """Step 2b, for a showtime sold through a ticketing system (none for the others); None
        when the booking was settled meanwhile."""
        if booking.ticketing_reference is None:
            return []
        try:
            return await self._ticketing.book(booking, beneficiary)
        except TicketsRefused as refused:
            await self._release_and_fail(booking, refused.reason)
        except grpc.aio.AioRpcError as error:
            log.warning("BookTickets failed for %s: %s", booking.id, error.code())
            await self._release_and_fail(booking, Reason.TICKETING_UNAVAILABLE, passing=True)
        return None  # settled meanwhile (else it raised)

    async def _confirm(
        self, booking: Booking, venue: Venue, showtime: Showtime, tickets: list[ExternalTicket]
    ) -> bool:
        """Step 3; False when the booking was no longer PENDING."""
        try:
            async with self._pool.connection() as conn:
                return await lifecycle.confirm(conn, booking, venue, showtime, tickets)
        except lifecycle.CreditShort:
            await self._release_and_fail(booking, Reason.INSUFFICIENT_CREDIT)
            return False  # settled meanwhile (else it raised): the caller reads how

    async def _release_and_fail(
        self, booking: Booking, reason: Reason, *, passing: bool = False
    ) -> None:
        """Seats first: a booking left PENDING by a failure here is settled by the reconciler.
        Raises why (unless the booking was settled meanwhile: then returns)."""
        self._showtimes.forget(str(booking.stock_id))
        try:
            await self._catalog.release(booking.id)
        except grpc.aio.AioRpcError as error:
            log.warning("catalog ReleaseStock failed for %s: %s", booking.id, error.code())
            raise catalog_unavailable() from None
        await self._fail(booking.id, reason, passing=passing)

    async def _fail(self, booking_id: uuid.UUID, reason: Reason, *, passing: bool = False) -> None:
        """Step 3 refused: raises why (unless the booking was settled meanwhile: then returns).
        A passing failure frees the booking's Idempotency-Key."""
        async with self._pool.connection() as conn:
            if await lifecycle.fail(conn, booking_id, reason, free_key=passing):
                raise refusal(reason)

    async def _settled(self, booking_id: uuid.UUID) -> BookingView:
        """The booking as someone else settled it."""
        async with self._pool.connection() as conn:
            view = await views.by_id(conn, booking_id)
        assert view is not None  # this booking was written by this very call
        return self._outcome(view)

    def _outcome(self, view: BookingView) -> BookingView:
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
        async with self._pool.connection() as conn, conn.transaction():
            view = await views.by_id(conn, booking_id, lock_pending=True)
            if view is None:
                return None
            if view.booking.ticketing_reference is not None:
                # Its tickets are not known here: give the seats up (and cancel any tickets).
                await self._catalog.release(booking_id)
                await lifecycle.fail(conn, booking_id, Reason.BOOKING_TIMED_OUT)
                return BookingStatus.FAILED
            reserved = await self._catalog.is_reserved(booking_id)
            if reserved is None:
                await self._catalog.release(booking_id)
            if reserved:
                await lifecycle.confirm(conn, view.booking, view.venue)
                return BookingStatus.CONFIRMED
            await lifecycle.fail(conn, booking_id, Reason.BOOKING_TIMED_OUT)
            return BookingStatus.FAILED

    async def reconcile_once(
        self, older_than: float, ticketing_older_than: float | None = None
    ) -> int:
        """Settles the PENDING bookings older than `older_than` seconds, those of a ticketing
        system older than `ticketing_older_than` (past the request path's deadlines; by default
        `older_than`): one batch; returns how many it settled."""
        now = datetime.now(UTC)
        if ticketing_older_than is None:
            ticketing_older_than = older_than
        with tracing.untraced():
            async with self._pool.connection() as conn:
                params = {
                    "cutoff": now - timedelta(seconds=older_than),
                    "ticketing_cutoff": now - timedelta(seconds=ticketing_older_than),
                    "limit": RECONCILE_BATCH,
                }
                cursor = await conn.execute(PENDING_SINCE, params)
                booking_ids = [row[0] for row in await cursor.fetchall()]
        settled = 0
        for booking_id in booking_ids:
            try:
                with tracing.job_span("reconcile booking"):
                    status = await self.settle(booking_id)
                if status is not None:
                    settled += 1
            except grpc.aio.AioRpcError as error:
                log.warning("could not settle booking %s: %s", booking_id, error.code())
        return settled

    async def run_reconciler(
        self,
        stop: asyncio.Event,
        interval: float,
        older_than: float,
        ticketing_older_than: float | None = None,
    ) -> None:
        await run_in_batches(
            stop,
            lambda: self.reconcile_once(older_than, ticketing_older_than),
            batch=RECONCILE_BATCH,
            interval=interval,
            log=log,
            done="reconciler settled bookings",
        )
