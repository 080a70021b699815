"""The gRPC upstreams: one long-lived channel each, and stubs bound to the caller of a request."""

from __future__ import annotations  # the generated *AsyncStub types exist for type checkers only

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, Self

import grpc

from passculture.booking.v1 import (
    beneficiary_service_pb2_grpc,
    booking_service_pb2_grpc,
    counter_service_pb2_grpc,
    job_service_pb2_grpc,
    notification_service_pb2_grpc,
)
from passculture.catalog.v1 import (
    account_service_pb2_grpc,
    api_key_service_pb2_grpc,
    member_service_pb2_grpc,
    offer_service_pb2_grpc,
    search_service_pb2_grpc,
    venue_service_pb2_grpc,
)
from passculture.importer.v1 import importer_service_pb2_grpc
from passculture.payments.v1 import (
    bank_account_service_pb2_grpc,
    batch_service_pb2_grpc,
    payment_service_pb2_grpc,
    revenue_service_pb2_grpc,
)
from pclib.grpc_client import channel

# gRPC call metadata: (key, value) pairs.
Metadata = tuple[tuple[str, str], ...]


class Channels:
    """One channel per upstream service, by name."""

    def __init__(self, addresses: dict[str, str]) -> None:
        self.by_name: dict[str, grpc.aio.Channel] = {
            name: channel(address) for name, address in addresses.items()
        }

    async def close(self) -> None:
        for open_channel in self.by_name.values():
            await open_channel.close()


class BoundStub:
    """A stub whose calls carry the caller's token and the upstream timeout."""

    def __init__(self, stub: object, metadata: Metadata, timeout: float) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    def __getattr__(self, method: str) -> Callable[..., object]:
        return functools.partial(
            getattr(self._stub, method), metadata=self._metadata, timeout=self._timeout
        )


@dataclass(frozen=True)
class Stubs:
    """The stubs of one upstream (the fields of a subclass), bindable to a request's caller.

    The app keeps each upstream's in `app.state.<NAME>` (None when it is not configured)."""

    NAME: ClassVar[str]

    @classmethod
    def on(cls, upstream_channel: grpc.aio.Channel) -> Self:
        raise NotImplementedError

    def bound(self, metadata: Metadata, timeout: float) -> Self:
        """The same stubs, each call carrying this metadata and timeout (a BoundStub each)."""
        stubs = {f.name: BoundStub(getattr(self, f.name), metadata, timeout) for f in fields(self)}
        return dataclasses.replace(self, **stubs)


@dataclass(frozen=True)
class Catalog(Stubs):
    NAME = "catalog"
    accounts: account_service_pb2_grpc.AccountServiceAsyncStub
    venues: venue_service_pb2_grpc.VenueServiceAsyncStub
    offers: offer_service_pb2_grpc.OfferServiceAsyncStub
    search: search_service_pb2_grpc.SearchServiceAsyncStub
    members: member_service_pb2_grpc.MemberServiceAsyncStub
    api_keys: api_key_service_pb2_grpc.ApiKeyServiceAsyncStub

    @classmethod
    def on(cls, upstream_channel: grpc.aio.Channel) -> Self:
        return cls(
            accounts=account_service_pb2_grpc.AccountServiceStub(upstream_channel),
            venues=venue_service_pb2_grpc.VenueServiceStub(upstream_channel),
            offers=offer_service_pb2_grpc.OfferServiceStub(upstream_channel),
            search=search_service_pb2_grpc.SearchServiceStub(upstream_channel),
            members=member_service_pb2_grpc.MemberServiceStub(upstream_channel),
            api_keys=api_key_service_pb2_grpc.ApiKeyServiceStub(upstream_channel),
        )


@dataclass(frozen=True)
class Booking(Stubs):
    NAME = "booking"
    beneficiaries: beneficiary_service_pb2_grpc.BeneficiaryServiceAsyncStub
    bookings: booking_service_pb2_grpc.BookingServiceAsyncStub
    counter: counter_service_pb2_grpc.CounterServiceAsyncStub
    jobs: job_service_pb2_grpc.JobServiceAsyncStub
    notifications: notification_service_pb2_grpc.NotificationServiceAsyncStub

    @classmethod
    def on(cls, upstream_channel: grpc.aio.Channel) -> Self:
        return cls(
            beneficiaries=beneficiary_service_pb2_grpc.BeneficiaryServiceStub(upstream_channel),
            bookings=booking_service_pb2_grpc.BookingServiceStub(upstream_channel),
            counter=counter_service_pb2_grpc.CounterServiceStub(upstream_channel),
            jobs=job_service_pb2_grpc.JobServiceStub(upstream_channel),
            notifications=notification_service_pb2_grpc.NotificationServiceStub(upstream_channel),
        )


@dataclass(frozen=True)
class Importer(Stubs):
    NAME = "importer"
    importer: importer_service_pb2_grpc.ImporterServiceAsyncStub

    @classmethod
    def on(cls, upstream_channel: grpc.aio.Channel) -> Self:
        return cls(importer=importer_service_pb2_grpc.ImporterServiceStub(upstream_channel))


@dataclass(frozen=True)
class Payments(Stubs):
    NAME = "payments"
    bank_accounts: bank_account_service_pb2_grpc.BankAccountServiceAsyncStub
    payments: payment_service_pb2_grpc.PaymentServiceAsyncStub
    batches: batch_service_pb2_grpc.BatchServiceAsyncStub
    revenue: revenue_service_pb2_grpc.RevenueServiceAsyncStub

    @classmethod
    def on(cls, upstream_channel: grpc.aio.Channel) -> Self:
        return cls(
            bank_accounts=bank_account_service_pb2_grpc.BankAccountServiceStub(upstream_channel),
            payments=payment_service_pb2_grpc.PaymentServiceStub(upstream_channel),
            batches=batch_service_pb2_grpc.BatchServiceStub(upstream_channel),
            revenue=revenue_service_pb2_grpc.RevenueServiceStub(upstream_channel),
        )


UPSTREAMS: tuple[type[Stubs], ...] = (Catalog, Booking, Importer, Payments)
