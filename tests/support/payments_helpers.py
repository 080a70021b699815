"""Builders and a running server for the payments service's tests (and cross-service ones)."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from schwifty import IBAN
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from passculture.booking.v1 import events_pb2 as booking_events
from passculture.payments.v1 import (
    bank_account_service_pb2,
    bank_account_service_pb2_grpc,
    batch_service_pb2,
    batch_service_pb2_grpc,
    payment_service_pb2_grpc,
    resources_pb2,
    revenue_service_pb2_grpc,
)
from payments import models
from payments.app import build_server, catalog_client
from payments.domain import rates
from payments.domain.status import BankAccountStatus, LedgerState
from payments.settings import PaymentsSettings
from pclib.auth import TokenVerifier

BIC = "BNPAFRPPXXX"
# A valid IBAN (checksum and French format), as banks print it.
IBAN_SAMPLE = "FR76 3000 6000 0112 3456 7890 189"


@dataclass
class PaymentsStubs:
    """The stubs on an asyncio channel (their types exist for type checkers only)."""

    bank_accounts: "bank_account_service_pb2_grpc.BankAccountServiceAsyncStub"
    payments: "payment_service_pb2_grpc.PaymentServiceAsyncStub"
    batches: "batch_service_pb2_grpc.BatchServiceAsyncStub"
    revenue: "revenue_service_pb2_grpc.RevenueServiceAsyncStub"

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> "PaymentsStubs":
        return cls(
            bank_accounts=bank_account_service_pb2_grpc.BankAccountServiceStub(channel),
            payments=payment_service_pb2_grpc.PaymentServiceStub(channel),
            batches=batch_service_pb2_grpc.BatchServiceStub(channel),
            revenue=revenue_service_pb2_grpc.RevenueServiceStub(channel),
        )


@contextlib.asynccontextmanager
async def running_payments(
    engine: AsyncEngine, verifier: TokenVerifier, settings: PaymentsSettings
) -> AsyncIterator[tuple[str, PaymentsStubs]]:
    """The payments gRPC server on a free port, talking to the catalog of `settings`:
    (its address, stubs on a channel to it)."""
    async with catalog_client(settings) as catalog:
        server = build_server(engine, verifier, catalog, settings)
        port = await server.start(0, host="127.0.0.1")
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            yield address, PaymentsStubs.on(channel)
        await server.stop(0)


def isolated(settings: PaymentsSettings, name: str) -> PaymentsSettings:
    """Settings whose exchanges and consumer queues belong to one test only."""
    return settings.model_copy(
        update={
            "events_exchange": f"payments-{name}",
            "booking_exchange": f"booking-{name}",
            "catalog_exchange": f"catalog-{name}",
            "queue_prefix": f"payments-{name}",
        }
    )


def new_iban(number: int | None = None) -> str:
    """A valid French IBAN, different for each number (random when none)."""
    account = uuid.uuid4().int % 10**11 if number is None else number
    return IBAN.generate("FR", bank_code="30006", account_code=f"{account:011d}").compact


async def put_bank_account(
    stubs: PaymentsStubs,
    metadata: tuple,
    venue_id: str,
    *,
    iban: str = IBAN_SAMPLE,
    bic: str = BIC,
    holder_name: str = "Cinéma du Centre",
) -> resources_pb2.BankAccount:
    request = bank_account_service_pb2.PutBankAccountRequest(
        venue_id=venue_id, iban=iban, bic=bic, holder_name=holder_name
    )
    return (await stubs.bank_accounts.PutBankAccount(request, metadata=metadata)).bank_account


async def create_batch(
    stubs: PaymentsStubs, admin: tuple, cutoff: datetime | None = None
) -> batch_service_pb2.CreatePaymentBatchResponse:
    request = batch_service_pb2.CreatePaymentBatchRequest()
    if cutoff is not None:
        request.cutoff.FromDatetime(cutoff.astimezone(UTC))
    return await stubs.batches.CreatePaymentBatch(request, metadata=admin)


async def sepa_file(stubs: PaymentsStubs, admin: tuple, batch_id: str) -> tuple[str, bytes]:
    """(file name, the whole file) from GetSepaFile's chunks."""
    request = batch_service_pb2.GetSepaFileRequest(batch_id=batch_id)
    chunks = [chunk async for chunk in stubs.batches.GetSepaFile(request, metadata=admin)]
    return chunks[0].filename, b"".join(chunk.chunk for chunk in chunks)


# --- events as the booking service publishes them --------------------------------------------


@dataclass(frozen=True)
class Venue:
    """A venue as the ledger knows it (the ids may be the catalog's)."""

    id: str
    offerer_id: str
    siren: str = "123456782"
    siret: str = ""


def new_venue(*, siret: str = "", offerer_id: str | None = None) -> Venue:
    return Venue(str(uuid.uuid4()), offerer_id or str(uuid.uuid4()), siret=siret)


def booking_facts(
    venue: Venue,
    *,
    total_cents: int = 800,
    starts_at: datetime | None = None,
    booking_id: str | None = None,
    stock_id: str | None = None,
) -> booking_events.BookingFacts:
    facts = booking_events.BookingFacts(
        booking_id=booking_id or str(uuid.uuid4()),
        stock_id=stock_id or str(uuid.uuid4()),
        offer_id=str(uuid.uuid4()),
        venue_id=venue.id,
        offerer_id=venue.offerer_id,
        offerer_siren=venue.siren,
        venue_siret=venue.siret,
        quantity=1,
        amount_cents=total_cents,
        total_cents=total_cents,
    )
    facts.starts_at.FromDatetime(starts_at or datetime.now(UTC) - timedelta(days=3))
    return facts


def created(facts: booking_events.BookingFacts, at: datetime) -> booking_events.BookingCreated:
    event = booking_events.BookingCreated(booking=facts)
    event.booked_at.FromDatetime(at)
    return event


def used(facts: booking_events.BookingFacts, at: datetime) -> booking_events.BookingUsed:
    event = booking_events.BookingUsed(booking=facts, validated_by="OFFERER")
    event.used_at.FromDatetime(at)
    return event


def unused(facts: booking_events.BookingFacts, at: datetime) -> booking_events.BookingUnused:
    event = booking_events.BookingUnused(booking=facts)
    event.unused_at.FromDatetime(at)
    return event


def cancelled(facts: booking_events.BookingFacts, at: datetime) -> booking_events.BookingCancelled:
    event = booking_events.BookingCancelled(booking=facts, reason="OFFERER")
    event.cancelled_at.FromDatetime(at)
    return event


# --- rows written straight into the payments database -----------------------------------------
# For the batch tests: faster than events, and any date.


async def store_bank_account(
    engine: AsyncEngine, venue: Venue, *, iban: str | None = None, name: str = "Cinéma du Centre"
) -> str:
    """An ACCEPTED bank account for the venue; returns its IBAN."""
    iban = iban or new_iban()
    async with engine.begin() as conn:
        await conn.execute(
            insert(models.BankAccount).values(
                venue_id=uuid.UUID(venue.id),
                offerer_id=uuid.UUID(venue.offerer_id),
                iban=iban,
                bic=BIC,
                holder_name=name,
                creditor_name=name,
                offerer_siren=venue.siren,
                venue_siret=venue.siret,
                status=BankAccountStatus.ACCEPTED,
            )
        )
    return iban


async def store_used_lines(
    engine: AsyncEngine,
    venue: Venue,
    used_at: list[datetime],
    *,
    total_cents: int = 800,
    starts_at: datetime | None = None,
) -> list[uuid.UUID]:
    """USED ledger lines of the venue, one per validation date; returns their booking ids."""
    starts_at = starts_at or datetime.now(UTC) - timedelta(days=3)
    booking_ids = [uuid.uuid4() for _ in used_at]
    rows = [
        {
            "booking_id": booking_id,
            "venue_id": uuid.UUID(venue.id),
            "offerer_id": uuid.UUID(venue.offerer_id),
            "offerer_siren": venue.siren,
            "venue_siret": venue.siret,
            "stock_id": uuid.uuid4(),
            "total_cents": total_cents,
            "starts_at": starts_at,
            "state": LedgerState.USED,
            "scale_key": rates.scale_key(venue.siret, venue.id),
            "used_at": at,
            "used_year": rates.revenue_year(at),
            "last_event_at": at,
        }
        for booking_id, at in zip(booking_ids, used_at, strict=True)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(models.LedgerLine), rows)
    return booking_ids
