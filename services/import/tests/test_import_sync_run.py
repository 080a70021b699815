"""A sync run's transitions: how it ends, and an interruption while PENDING or RUNNING."""

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from importer.background import BackgroundSyncs
from importer.domain.status import SyncStatus, SyncTrigger, ended
from importer.sync_run import INTERRUPTED, SyncOutcome
from passculture.importer.v1 import events_pb2, resources_pb2
from tests.support.catalog_helpers import make_pro, make_venue
from tests.support.import_helpers import load_feed, put_settings, sync_by_id, upcoming
from tests.support.pclib_fixtures import eventually

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_sync_fails_when_it_has_an_error_else_succeeds():
    assert ended("") is SyncStatus.SUCCEEDED
    assert ended("Allociné answered HTTP 500") is SyncStatus.FAILED
    outcome = SyncOutcome(stocks_created=3)
    assert outcome.status is SyncStatus.SUCCEEDED
    outcome.interrupt()
    assert (outcome.status, outcome.error, outcome.stocks_created) == (
        SyncStatus.FAILED,
        INTERRUPTED,
        3,
    )


@pytest.fixture
async def claimed(catalog, issuer, importer, fake_allocine):
    """A pro, its venue with settings, and a PENDING sync of it."""
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    fake_allocine.set_feed("P0591", upcoming(load_feed(FIXTURES / "sample-theater.json")))
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    sync, created = await importer.syncer.claim(uuid.UUID(venue.id), SyncTrigger.ON_DEMAND)
    assert created and sync.status is SyncStatus.PENDING
    return pro, venue, sync.id


async def finished_events(engine) -> list[events_pb2.SyncFinished]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT payload FROM outbox ORDER BY created_at"))
        return [events_pb2.SyncFinished.FromString(payload) for (payload,) in rows]


async def test_a_sync_interrupted_while_pending_fails_with_its_event(
    importer, importer_engine, claimed
):
    pro, venue, sync_id = claimed
    background = BackgroundSyncs(importer.syncer, concurrency=0)  # it waits for a slot
    background.start(sync_id)
    await asyncio.sleep(0.1)
    await background.stop(grace_seconds=0)

    sync = await sync_by_id(importer, pro.metadata, venue.id, str(sync_id))
    assert (sync.status, sync.error) == (resources_pb2.SYNC_STATUS_FAILED, INTERRUPTED)
    assert [event.sync for event in await finished_events(importer_engine)] == [sync]


async def test_a_sync_interrupted_while_running_fails_with_its_event(
    importer, importer_engine, fake_allocine, claimed
):
    pro, venue, sync_id = claimed
    fake_allocine.faults["P0591"] = "slow:5"
    background = BackgroundSyncs(importer.syncer, concurrency=1)
    background.start(sync_id)
    await eventually(lambda: fake_allocine.requests["P0591"])  # RUNNING: Allociné is slow
    await background.stop(grace_seconds=0)

    sync = await sync_by_id(importer, pro.metadata, venue.id, str(sync_id))
    assert (sync.status, sync.error) == (resources_pb2.SYNC_STATUS_FAILED, INTERRUPTED)
    assert sync.started_at.ToDatetime() <= sync.finished_at.ToDatetime()
    assert [event.sync for event in await finished_events(importer_engine)] == [sync]
