"""Builders and running servers for the import service's tests (and cross-service ones)."""

import contextlib
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from importer.app import build_server, wiring
from importer.background import BackgroundSyncs
from importer.fake_allocine import rebased
from importer.settings import ImporterSettings
from importer.sync import Syncer
from importer.ticketing.calls_under_way import CallsUnderWay
from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import importer_service_pb2_grpc as pb_grpc
from passculture.importer.v1 import resources_pb2
from pclib.auth import TokenVerifier


@dataclass
class RunningImporter:
    address: str
    stub: "pb_grpc.ImporterServiceAsyncStub"  # the stub's type on an asyncio channel
    syncer: Syncer
    background: BackgroundSyncs
    ticketing_calls: CallsUnderWay


@contextlib.asynccontextmanager
async def running_importer(
    engine: AsyncEngine, verifier: TokenVerifier, settings: ImporterSettings
) -> AsyncIterator[RunningImporter]:
    """The import service's gRPC server on a free port, with its background syncs."""
    async with wiring(engine, settings) as wired:
        background = BackgroundSyncs(wired.syncer, settings.sync_concurrency)
        server = build_server(wired, background, verifier)
        port = await server.start(0, host="127.0.0.1")
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            yield RunningImporter(
                address,
                pb_grpc.ImporterServiceStub(channel),
                wired.syncer,
                background,
                wired.ticketing_calls,
            )
        await background.stop(5.0)
        await server.stop(0)


def upcoming(document: dict, today: date | None = None) -> dict:
    """A copy of a feed moved by whole days so that it starts tomorrow."""
    return rebased(copy.deepcopy(document), today or date.today())


def load_feed(path: Path) -> dict:
    document: dict = json.loads(path.read_text())
    return document


async def put_settings(
    importer: RunningImporter, metadata: tuple, venue_id: str, theater_id: str, **fields: Any
) -> resources_pb2.AllocineSettings:
    request = pb.PutAllocineSettingsRequest(
        venue_id=venue_id,
        theater_id=theater_id,
        price_cents=fields.pop("price_cents", 690),
        **fields,
    )
    return (await importer.stub.PutAllocineSettings(request, metadata=metadata)).settings


async def sync_now(importer: RunningImporter, metadata: tuple, venue_id: str) -> resources_pb2.Sync:
    """Starts a sync as the pro, waits for it to end, returns it as ListSyncs shows it."""
    started = await importer.stub.StartSync(
        pb.StartSyncRequest(venue_id=venue_id), metadata=metadata
    )
    await importer.background.wait()
    return await sync_by_id(importer, metadata, venue_id, started.sync.id)


async def sync_by_id(
    importer: RunningImporter, metadata: tuple, venue_id: str, sync_id: str
) -> resources_pb2.Sync:
    listed = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue_id, page_size=500), metadata=metadata
    )
    return next(sync for sync in listed.syncs if sync.id == sync_id)


async def put_link(
    importer: RunningImporter, metadata: tuple, venue_id: str, **fields: Any
) -> resources_pb2.TicketingLink:
    request = pb.PutTicketingLinkRequest(
        venue_id=venue_id,
        system=fields.pop("system", resources_pb2.TICKETING_SYSTEM_CDS),
        cinema_id=fields.pop("cinema_id", "cine-1"),
        account_id=fields.pop("account_id", "moncinema"),
        secret=fields.pop("secret", "cds-token"),
    )
    return (await importer.stub.PutTicketingLink(request, metadata=metadata)).link


async def put_boost_link(
    importer: RunningImporter, metadata: tuple, venue_id: str
) -> resources_pb2.TicketingLink:
    """A link to the fake Boost's cinema, with its account and password."""
    return await put_link(
        importer,
        metadata,
        venue_id,
        system=resources_pb2.TICKETING_SYSTEM_BOOST,
        cinema_id="cine-2",
        account_id="vendor",
        secret="boost-password",
    )
