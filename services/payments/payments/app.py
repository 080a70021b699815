"""Composition root: the database, the catalog client, the servicers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from google.protobuf.descriptor import FileDescriptor
from sqlalchemy.ext.asyncio import AsyncEngine

from passculture.payments.v1 import (
    bank_account_service_pb2,
    bank_account_service_pb2_grpc,
    batch_service_pb2,
    batch_service_pb2_grpc,
    payment_service_pb2,
    payment_service_pb2_grpc,
    revenue_service_pb2,
    revenue_service_pb2_grpc,
)
from payments.api.bank_accounts import BankAccountServicer
from payments.api.batches import BatchServicer
from payments.api.payments import PaymentServicer
from payments.api.revenue import RevenueServicer
from payments.catalog_client import CatalogClient
from payments.sepa.pain001 import Debtor
from payments.settings import PaymentsSettings
from pclib.auth import TokenVerifier
from pclib.db import make_session_factory
from pclib.grpc_client import channel
from pclib.grpc_server import GrpcServer


def _name(file: FileDescriptor, service: str) -> str:
    return file.services_by_name[service].full_name


def debtor(settings: PaymentsSettings) -> Debtor:
    return Debtor(
        settings.debtor_name, settings.debtor_iban, settings.debtor_bic, settings.debtor_id
    )


@asynccontextmanager
async def catalog_client(settings: PaymentsSettings) -> AsyncIterator[CatalogClient]:
    """The catalog client, its channel closed after."""
    catalog_channel = channel(settings.catalog_addr)
    try:
        yield CatalogClient(catalog_channel, settings.catalog_timeout_seconds)
    finally:
        await catalog_channel.close()


def build_server(
    engine: AsyncEngine,
    verifier: TokenVerifier,
    catalog: CatalogClient,
    settings: PaymentsSettings,
) -> GrpcServer:
    sessions = make_session_factory(engine)
    return GrpcServer(
        [
            (
                bank_account_service_pb2_grpc.add_BankAccountServiceServicer_to_server,
                BankAccountServicer(sessions, catalog),
                _name(bank_account_service_pb2.DESCRIPTOR, "BankAccountService"),
            ),
            (
                payment_service_pb2_grpc.add_PaymentServiceServicer_to_server,
                PaymentServicer(sessions, catalog),
                _name(payment_service_pb2.DESCRIPTOR, "PaymentService"),
            ),
            (
                revenue_service_pb2_grpc.add_RevenueServiceServicer_to_server,
                RevenueServicer(sessions, catalog),
                _name(revenue_service_pb2.DESCRIPTOR, "RevenueService"),
            ),
            (
                batch_service_pb2_grpc.add_BatchServiceServicer_to_server,
                BatchServicer(engine, sessions, debtor(settings)),
                _name(batch_service_pb2.DESCRIPTOR, "BatchService"),
            ),
        ],
        verifier,
    )
