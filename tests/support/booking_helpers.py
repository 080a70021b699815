"""Builders of booking data for tests (this service's and the cross-service ones)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking import models
from booking.app import build_server
from booking.catalog_client import CatalogClient
from booking.domain import rules
from booking.domain.countermark import new_countermark
from booking.domain.credit import CREDIT_CENTS, expiry
from booking.domain.showtime import Showtime as Reserved
from booking.domain.status import (
    ACTIVE_STATUSES,
    BookingStatus,
    CancellationReason,
    ValidationAuthor,
)
from booking.settings import BookingSettings
from booking.ticketing_client import TicketingClient
from booking.upstreams import upstreams
from passculture.booking.v1 import (
    beneficiary_service_pb2,
    beneficiary_service_pb2_grpc,
    booking_service_pb2,
    booking_service_pb2_grpc,
    counter_service_pb2_grpc,
    job_service_pb2_grpc,
    notification_service_pb2_grpc,
    resources_pb2,
)
from pclib.auth import TokenIssuer, TokenVerifier, bearer_metadata
from pclib.db import make_pool, make_session_factory
from pclib.grpc_client import error_info
from pclib.passwords import hash_password
from tests.support.catalog_helpers import Pro, make_offer, make_pro, make_stock, make_venue
from tests.support.catalog_helpers import Stubs as CatalogStubs
from tests.support.tcp_proxy import free_port


@dataclass
class BookingStubs:
    beneficiaries: beneficiary_service_pb2_grpc.BeneficiaryServiceAsyncStub
    bookings: booking_service_pb2_grpc.BookingServiceAsyncStub
    counter: counter_service_pb2_grpc.CounterServiceAsyncStub
    jobs: job_service_pb2_grpc.JobServiceAsyncStub
    notifications: notification_service_pb2_grpc.NotificationServiceAsyncStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> BookingStubs:
        return cls(
            beneficiaries=beneficiary_service_pb2_grpc.BeneficiaryServiceStub(channel),
            bookings=booking_service_pb2_grpc.BookingServiceStub(channel),
            counter=counter_service_pb2_grpc.CounterServiceStub(channel),
            jobs=job_service_pb2_grpc.JobServiceStub(channel),
            notifications=notification_service_pb2_grpc.NotificationServiceStub(channel),
        )


@contextlib.asynccontextmanager
async def running_booking(
    engine: AsyncEngine, verifier: TokenVerifier, settings: BookingSettings
) -> AsyncIterator[tuple[str, BookingStubs]]:
    """The booking gRPC server on a free port, talking to the catalog of `settings`."""
    clients = upstreams(settings)
    async with make_pool(settings.database_url, 5) as pool:
        server = build_server(engine, pool, verifier, clients, settings)
        port = await server.start(0, host="127.0.0.1")
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            yield address, BookingStubs.on(channel)
        await server.stop(0)
    await clients.close()


def no_ticketing(issuer: TokenIssuer) -> TicketingClient:
    """A ticketing client for sagas that book no ticketing showtime: nothing listens there."""
    return TicketingClient(grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}"), issuer, 1.0)


async def failure(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """The error a gRPC call fails with (the test fails if it succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def answer(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    """Code and reason of a failed call."""
    return error.code(), error_info(error).reason


def birth_date_for_age(age: int, today: date | None = None) -> date:
    """A birth date that makes someone `age` today and for the next weeks: their birthday was
    about a month ago (so a test is not flaky around a birthday)."""
    today = today or datetime.now(UTC).date()
    month_ago = today - timedelta(days=30)
    try:
        return month_ago.replace(year=month_ago.year - age)
    except ValueError:  # 29 February
        return month_ago.replace(year=month_ago.year - age, day=28)


@dataclass
class Young:
    id: str
    email: str
    metadata: tuple[tuple[str, str], ...]


async def make_beneficiary(
    booking: BookingStubs, issuer: TokenIssuer, *, age: int = 18, credit: bool = True
) -> Young:
    """A signed-up young person, with the credit granted by an admin unless told otherwise."""
    email = f"young-{uuid.uuid4().hex[:8]}@example.com"
    signed = await booking.beneficiaries.SignUpBeneficiary(
        beneficiary_service_pb2.SignUpBeneficiaryRequest(
            email=email,
            password="correct horse battery",
            first_name="Camille",
            last_name="Jeune",
            birth_date=birth_date_for_age(age).isoformat(),
            phone_number="+33600000000",
            postal_code="75011",
        )
    )
    beneficiary_id = signed.beneficiary.id
    if credit:
        admin = bearer_metadata(issuer.issue(str(uuid.uuid4()), "admin"))
        await booking.beneficiaries.GrantCredit(
            beneficiary_service_pb2.GrantCreditRequest(beneficiary_id=beneficiary_id),
            metadata=admin,
        )
    return Young(
        beneficiary_id, email, bearer_metadata(issuer.issue(beneficiary_id, "beneficiary"))
    )


async def insert_beneficiaries(
    engine: AsyncEngine, issuer: TokenIssuer, count: int, *, credit_cents: int = CREDIT_CENTS
) -> list[Young]:
    """`count` young people with a fresh credit, written straight into the booking database with
    one shared password hash: for load tests, where signing each up would take minutes."""
    password_hash = await hash_password("correct horse battery")
    now = datetime.now(UTC)
    people: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "email": f"storm-{uuid.uuid4().hex[:12]}@example.com",
            "password_hash": password_hash,
            "first_name": "Camille",
            "last_name": f"Jeune {index}",
            "birth_date": birth_date_for_age(18),
            "phone_number": "",
            "postal_code": "75011",
            "timezone": "Europe/Paris",
        }
        for index in range(count)
    ]
    credits = [
        {
            "id": uuid.uuid4(),
            "beneficiary_id": person["id"],
            "initial_cents": credit_cents,
            "granted_at": now,
            "expires_at": expiry(now),
            "granted_by": "test",
        }
        for person in people
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(models.Beneficiary), people)
        await conn.execute(insert(models.Credit), credits)
    return [
        Young(
            str(person["id"]),
            person["email"],
            bearer_metadata(issuer.issue(str(person["id"]), "beneficiary")),
        )
        for person in people
    ]


@dataclass
class Showtime:
    pro: Pro
    venue: object
    offer: object
    stock: object


async def make_showtime(
    catalog: CatalogStubs,
    issuer: TokenIssuer,
    *,
    pro: Pro | None = None,
    venue: Any = None,
    is_duo: bool = False,
    title: str = "La Dernière Séance",
    **stock_fields: Any,
) -> Showtime:
    """A film at a cinema with one showtime (3 days ahead, 8 € unless told otherwise), by a
    validated offerer unless `pro` says otherwise."""
    pro = pro or await make_pro(catalog, issuer)
    venue = venue or await make_venue(catalog, pro)
    offer = await make_offer(catalog, pro, venue.id, is_duo=is_duo, title=title)
    stock = await make_stock(catalog, pro, offer.id, **stock_fields)
    return Showtime(pro, venue, offer, stock)


# --- rows written straight into the booking database -----------------------------------------
# For the counter, the jobs and the consumers: faster than the saga, and any status or date.


@dataclass
class StoredBooking:
    booking: models.Booking
    beneficiary: models.Beneficiary
    venue: models.Venue


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def store_venue(engine: AsyncEngine, **fields: Any) -> models.Venue:
    """A venue of the local copy; `id` and `offerer_id` may be the catalog's (strings)."""
    values = {
        "id": uuid.uuid4(),
        "offerer_id": uuid.uuid4(),
        "offerer_siren": "000000000",
        "name": "Le Grand Rex",
        "siret": "",
        "booking_email": "resa@cinema.test",
        "timezone": "Europe/Paris",
        **fields,
    }
    values["id"], values["offerer_id"] = _uuid(values["id"]), _uuid(values["offerer_id"])
    venue = models.Venue(**values)
    async with make_session_factory(engine).begin() as session:
        session.add(venue)
    return venue


def _status_defaults(status: str, booked_at: datetime) -> dict[str, Any]:
    if status in (BookingStatus.USED, BookingStatus.REIMBURSED):
        return {"used_at": booked_at + timedelta(hours=1), "validated_by": ValidationAuthor.OFFERER}
    if status == BookingStatus.CANCELLED:
        return {
            "cancelled_at": booked_at + timedelta(hours=1),
            "cancellation_reason": CancellationReason.BENEFICIARY,
        }
    return {}


async def store_booking(
    engine: AsyncEngine,
    venue: models.Venue,
    *,
    status: str = BookingStatus.CONFIRMED,
    starts_at: datetime | None = None,
    booked_at: datetime | None = None,
    young: dict[str, Any] | None = None,
    **fields: Any,
) -> StoredBooking:
    """A booking by a new young person (`young` overrides their fields). By default booked
    5 days ago for a showtime in 2 hours: past its cancellation limit, so validatable."""
    now = datetime.now(UTC)
    booked_at = booked_at or now - timedelta(days=5)
    starts_at = starts_at or now + timedelta(hours=2)
    beneficiary = models.Beneficiary(
        **{
            "id": uuid.uuid4(),
            "email": f"young-{uuid.uuid4().hex[:8]}@example.com",
            "password_hash": "not-a-hash",
            "first_name": "Camille",
            "last_name": "Jeune",
            "birth_date": birth_date_for_age(18),
            "phone_number": "+33600000000",
            "postal_code": "75011",
            "timezone": "Europe/Paris",
            **(young or {}),
        }
    )
    granted_at = booked_at - timedelta(days=1)
    credit = models.Credit(
        id=uuid.uuid4(),
        beneficiary_id=beneficiary.id,
        initial_cents=CREDIT_CENTS,
        granted_at=granted_at,
        expires_at=expiry(granted_at),
        granted_by="test",
    )
    values = {
        "id": uuid.uuid4(),
        "countermark": new_countermark(),
        "quantity": 1,
        "amount_cents": 800,
        "stock_id": uuid.uuid4(),
        "offer_id": uuid.uuid4(),
        "offer_title": "La Dernière Séance",
        "features": ["VF"],
        "cancellation_limit_at": rules.cancellation_limit(starts_at, booked_at),
        **_status_defaults(status, booked_at),
        **fields,
    }
    values["stock_id"], values["offer_id"] = _uuid(values["stock_id"]), _uuid(values["offer_id"])
    booking = models.Booking(
        beneficiary_id=beneficiary.id,
        credit_id=credit.id,
        status=status,
        venue_id=venue.id,
        offerer_id=venue.offerer_id,
        starts_at=starts_at,
        booked_at=booked_at,
        **values,
    )
    # The credit holds what its active bookings hold, as the booking path keeps it.
    credit.spent_cents = booking.total_cents if status in ACTIVE_STATUSES else 0
    async with make_session_factory(engine).begin() as session:
        for row in (beneficiary, credit, booking):  # no relationships: the order is ours
            session.add(row)
            await session.flush()
    return StoredBooking(booking, beneficiary, venue)


def with_key(metadata: tuple, key: str) -> tuple:
    """Call metadata with an Idempotency-Key."""
    return (*metadata, ("idempotency-key", key))


async def book(
    booking: BookingStubs, young: Young, stock_id: str, quantity: int = 1, *, key: str = ""
) -> resources_pb2.Booking:
    metadata = with_key(young.metadata, key) if key else young.metadata
    reply = await booking.bookings.CreateBooking(
        booking_service_pb2.CreateBookingRequest(stock_id=stock_id, quantity=quantity),
        metadata=metadata,
    )
    return reply.booking


async def outbox_events(engine: AsyncEngine, message_type: type[Message]) -> list[Message]:
    """The events of this type waiting in the booking outbox, oldest first."""
    async with engine.connect() as conn:
        payloads = await conn.scalars(
            select(models.outbox.c.payload)
            .where(models.outbox.c.message_type == message_type.DESCRIPTOR.full_name)
            .order_by(models.outbox.c.created_at)
        )
        return [message_type.FromString(payload) for payload in payloads]


# --- the worker's consumers on a real broker -------------------------------------------------


def isolated(settings: BookingSettings, name: str) -> BookingSettings:
    """Settings whose exchanges and consumer queues belong to one test only."""
    return settings.model_copy(
        update={
            "events_exchange": f"booking-{name}",
            "catalog_exchange": f"catalog-{name}",
            "queue_prefix": f"booking-{name}",
        }
    )


async def booked_quantity(catalog_engine: AsyncEngine, stock_id: str) -> int:
    """The places the catalog counts as booked on a stock (read from its database)."""
    async with catalog_engine.connect() as conn:
        booked: int = await conn.scalar(
            text("SELECT booked_quantity FROM stocks WHERE id = :id"), {"id": stock_id}
        )
    return booked


def lost_call() -> grpc.aio.AioRpcError:
    """What a call whose request or answer was lost raises."""
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "lost (test)"
    )


class UnreliableCatalog(CatalogClient):
    """The real catalog client with faults for saga tests: `lose` the ReserveStock requests
    ("request": nothing is reserved) or their answers ("answer": the seats are held), and hooks
    awaited right before and right after the catalog reserves."""

    def __init__(self, channel: grpc.aio.Channel, issuer: TokenIssuer, timeout: float = 5.0):
        super().__init__(channel, issuer, timeout)
        self.lose: str | None = None
        self.before_reserve: Callable[[], Awaitable[object]] | None = None
        self.after_reserve: Callable[[], Awaitable[object]] | None = None

    async def reserve(
        self, stock_id: uuid.UUID, quantity: int, reservation_id: uuid.UUID
    ) -> Reserved:
        if self.before_reserve is not None:
            await self.before_reserve()
        if self.lose == "request":
            raise lost_call()
        showtime = await super().reserve(stock_id, quantity, reservation_id)
        if self.after_reserve is not None:
            await self.after_reserve()
        if self.lose == "answer":
            raise lost_call()
        return showtime
