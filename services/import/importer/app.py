"""Composition root: the database, the catalog and Allociné clients, the syncer, the server."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from importer.allocine_client import AllocineClient
from importer.api.importer import ImporterServicer
from importer.api.ticketing import TicketingServicer
from importer.background import BackgroundSyncs
from importer.catalog_client import CatalogClient
from importer.settings import ImporterSettings
from importer.sync import Syncer
from importer.ticketing.calls_under_way import CallsUnderWay
from importer.ticketing.clients import TicketingClients
from importer.ticketing.http import http_client
from importer.ticketing.secrets import SecretBox
from passculture.importer.v1 import (
    importer_service_pb2,
    importer_service_pb2_grpc,
    ticketing_service_pb2,
    ticketing_service_pb2_grpc,
)
from pclib.auth import TokenIssuer, TokenVerifier
from pclib.db import make_session_factory
from pclib.grpc_client import channel
from pclib.grpc_server import GrpcServer


@dataclass
class Wiring:
    syncer: Syncer
    catalog: CatalogClient
    ticketing: TicketingClients
    # The ticketing systems' calls that outlive their callers, given time to end at the stop.
    ticketing_calls: CallsUnderWay


@asynccontextmanager
async def wiring(engine: AsyncEngine, settings: ImporterSettings) -> AsyncIterator[Wiring]:
    """The syncer and the catalog client, with their channel and HTTP client closed after."""
    catalog_channel = channel(settings.catalog_addr)
    http = AllocineClient.http_client(
        settings.allocine_timeout_seconds, max(settings.sync_concurrency, 1) * 2
    )
    catalog = CatalogClient(
        catalog_channel,
        TokenIssuer.from_file(settings.jwt_private_key_file),
        settings.catalog_timeout_seconds,
        settings.catalog_chunk_stocks,
    )
    allocine = AllocineClient(
        http,
        settings.allocine_api_url,
        settings.allocine_api_key,
        retries=settings.allocine_retries,
        backoff_seconds=settings.allocine_retry_backoff_seconds,
        budget_seconds=settings.allocine_fetch_budget_seconds,
        max_bytes=settings.allocine_max_feed_bytes,
    )
    ticketing_http = http_client(settings.ticketing_timeout_seconds)
    ticketing = TicketingClients(ticketing_http, settings, SecretBox(settings.ticketing_secret_key))
    syncer = Syncer(
        make_session_factory(engine),
        catalog,
        allocine,
        stale_after_seconds=settings.sync_stale_after_seconds,
        ticketing=ticketing,
    )
    calls = CallsUnderWay()
    try:
        yield Wiring(syncer, catalog, ticketing, calls)
    finally:
        await calls.stop(settings.grpc_drain_seconds)
        await ticketing_http.aclose()
        await http.aclose()
        await catalog_channel.close()


def build_server(wired: Wiring, background: BackgroundSyncs, verifier: TokenVerifier) -> GrpcServer:
    servicer = ImporterServicer(
        wired.syncer.sessions, wired.catalog, wired.syncer, background, wired.ticketing.secrets
    )
    name = importer_service_pb2.DESCRIPTOR.services_by_name["ImporterService"].full_name
    tickets = TicketingServicer(wired.syncer.sessions, wired.ticketing, wired.ticketing_calls)
    tickets_name = ticketing_service_pb2.DESCRIPTOR.services_by_name["TicketingService"].full_name
    return GrpcServer(
        [
            (importer_service_pb2_grpc.add_ImporterServiceServicer_to_server, servicer, name),
            (
                ticketing_service_pb2_grpc.add_TicketingServiceServicer_to_server,
                tickets,
                tickets_name,
            ),
        ],
        verifier,
    )
