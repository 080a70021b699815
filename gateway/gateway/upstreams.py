"""The gRPC upstreams: one long-lived channel each, and stubs bound to the caller of a request."""

import functools
from dataclasses import dataclass, fields
from typing import Self

import grpc

from passculture.booking.v1 import (
    beneficiary_service_pb2_grpc,
    booking_service_pb2_grpc,
    counter_service_pb2_grpc,
    job_service_pb2_grpc,
)
from passculture.catalog.v1 import (
    account_service_pb2_grpc,
    offer_service_pb2_grpc,
    search_service_pb2_grpc,
    venue_service_pb2_grpc,
)
from passculture.importer.v1 import importer_service_pb2_grpc
from passculture.payments.v1 import (
    bank_account_service_pb2_grpc,
    batch_service_pb2_grpc,
    payment_service_pb2_grpc,
)
from pclib.grpc_client import channel


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

    def __init__(self, stub: object, metadata: tuple, timeout: float) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    def __getattr__(self, method: str):
        return functools.partial(
            getattr(self._stub, method), metadata=self._metadata, timeout=self._timeout
        )


class _Stubs:
    """The stubs of one upstream (a dataclass of stubs), bindable to a request's caller."""

    def bound(self, metadata: tuple, timeout: float) -> Self:
        stubs = {f.name: BoundStub(getattr(self, f.name), metadata, timeout) for f in fields(self)}
        return type(self)(**stubs)


@dataclass(frozen=True)
class Catalog(_Stubs):
    accounts: account_service_pb2_grpc.AccountServiceStub
    venues: venue_service_pb2_grpc.VenueServiceStub
    offers: offer_service_pb2_grpc.OfferServiceStub
    search: search_service_pb2_grpc.SearchServiceStub

    @classmethod
    def on(cls, catalog_channel: grpc.aio.Channel) -> "Catalog":
        return cls(
            accounts=account_service_pb2_grpc.AccountServiceStub(catalog_channel),
            venues=venue_service_pb2_grpc.VenueServiceStub(catalog_channel),
            offers=offer_service_pb2_grpc.OfferServiceStub(catalog_channel),
            search=search_service_pb2_grpc.SearchServiceStub(catalog_channel),
        )


@dataclass(frozen=True)
class Booking(_Stubs):
    beneficiaries: beneficiary_service_pb2_grpc.BeneficiaryServiceStub
    bookings: booking_service_pb2_grpc.BookingServiceStub
    counter: counter_service_pb2_grpc.CounterServiceStub
    jobs: job_service_pb2_grpc.JobServiceStub

    @classmethod
    def on(cls, booking_channel: grpc.aio.Channel) -> "Booking":
        return cls(
            beneficiaries=beneficiary_service_pb2_grpc.BeneficiaryServiceStub(booking_channel),
            bookings=booking_service_pb2_grpc.BookingServiceStub(booking_channel),
            counter=counter_service_pb2_grpc.CounterServiceStub(booking_channel),
            jobs=job_service_pb2_grpc.JobServiceStub(booking_channel),
        )


@dataclass(frozen=True)
class Importer(_Stubs):
    importer: importer_service_pb2_grpc.ImporterServiceStub

    @classmethod
    def on(cls, importer_channel: grpc.aio.Channel) -> "Importer":
        return cls(importer=importer_service_pb2_grpc.ImporterServiceStub(importer_channel))


@dataclass(frozen=True)
class Payments(_Stubs):
    bank_accounts: bank_account_service_pb2_grpc.BankAccountServiceStub
    payments: payment_service_pb2_grpc.PaymentServiceStub
    batches: batch_service_pb2_grpc.BatchServiceStub

    @classmethod
    def on(cls, payments_channel: grpc.aio.Channel) -> "Payments":
        return cls(
            bank_accounts=bank_account_service_pb2_grpc.BankAccountServiceStub(payments_channel),
            payments=payment_service_pb2_grpc.PaymentServiceStub(payments_channel),
            batches=batch_service_pb2_grpc.BatchServiceStub(payments_channel),
        )
