"""The daily run: every enabled venue once, under an advisory lock, and as a real command."""

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from importer import daily
from importer.daily import sync_all
from tests.support.catalog_helpers import make_pro, make_venue, siret_of
from tests.support.import_helpers import load_feed, put_settings, upcoming
from tests.support.pclib_fixtures import eventually

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def sample():
    return upcoming(load_feed(FIXTURES / "sample-theater.json"))


@pytest.fixture
async def venues(catalog, issuer, importer, fake_allocine, sample) -> dict[str, str]:
    """Three venues importing P3001..P3003 (the sample feed): theater → venue id."""
    pro = await make_pro(catalog, issuer)
    found = {}
    for number in (1, 2, 3):
        venue = await make_venue(catalog, pro, siret=siret_of(pro.siren, number))
        theater = f"P300{number}"
        fake_allocine.set_feed(theater, sample)
        await put_settings(importer, pro.metadata, venue.id, theater)
        found[theater] = venue.id
    return found


async def syncs_by_venue(engine) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT venue_id, status, trigger FROM syncs ORDER BY created_at")
        )
        found: dict[str, list[str]] = {}
        for venue_id, status, trigger in rows:
            found.setdefault(str(venue_id), []).append(f"{trigger} {status}")
        return found


async def test_every_enabled_venue_is_synced_once(importer, importer_engine, venues):
    report = await sync_all(importer_engine, importer.syncer, concurrency=2)
    assert sorted(map(str, report.succeeded)) == sorted(venues.values())
    assert await syncs_by_venue(importer_engine) == {
        venue_id: ["SCHEDULED SUCCEEDED"] for venue_id in venues.values()
    }


async def test_two_runs_at_once_sync_each_venue_once(
    importer, importer_engine, fake_allocine, venues
):
    for theater in venues:
        fake_allocine.faults[theater] = "slow:0.2"
    first = asyncio.create_task(sync_all(importer_engine, importer.syncer, concurrency=1))
    await eventually(lambda: sum(fake_allocine.requests.values()) >= 1)
    assert await sync_all(importer_engine, importer.syncer, concurrency=1) is None
    assert len((await first).succeeded) == 3
    assert await syncs_by_venue(importer_engine) == {
        venue_id: ["SCHEDULED SUCCEEDED"] for venue_id in venues.values()
    }
    # The lock is free again: a later run syncs again.
    assert len((await sync_all(importer_engine, importer.syncer, concurrency=3)).succeeded) == 3


async def test_negative_control_without_the_lock_a_second_run_syncs_again(
    importer, importer_engine, fake_allocine, venues, monkeypatch
):
    async def always_locked(conn):
        return True

    monkeypatch.setattr(daily, "_try_lock", always_locked)
    for theater in venues:
        fake_allocine.faults[theater] = "slow:0.2"
    first = asyncio.create_task(sync_all(importer_engine, importer.syncer, concurrency=1))

    async def one_venue_done() -> bool:
        synced = await syncs_by_venue(importer_engine)
        return any("SCHEDULED SUCCEEDED" in statuses for statuses in synced.values())

    await eventually(one_venue_done)
    second = await sync_all(importer_engine, importer.syncer, concurrency=1)
    await first
    assert second is not None
    total = sum(len(s) for s in (await syncs_by_venue(importer_engine)).values())
    assert total > len(venues)


async def test_disabled_venues_and_other_timezones_are_left_out(
    importer, importer_engine, catalog, venues
):
    async with importer_engine.begin() as conn:
        await conn.execute(
            text("UPDATE allocine_venues SET enabled = false WHERE theater_id = 'P3001'")
        )
        await conn.execute(
            text(
                "UPDATE allocine_venues SET timezone = 'Indian/Reunion' WHERE theater_id = 'P3002'"
            )
        )
    report = await sync_all(
        importer_engine, importer.syncer, concurrency=2, timezones=("Europe/Paris",)
    )
    assert [str(venue_id) for venue_id in report.succeeded] == [venues["P3003"]]


async def test_a_sync_whose_process_died_does_not_block_the_venue(
    importer, importer_engine, venues
):
    stuck = uuid.uuid4()
    async with importer_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO syncs (id, venue_id, status, trigger, started_at, heartbeat_at,"
                " offers_created, offers_updated, stocks_created, stocks_updated,"
                " showtimes_imported, showtimes_skipped, movies_rejected, rejected_movies, error)"
                " VALUES (:id, :venue, 'RUNNING', 'SCHEDULED', now() - interval '2 hours',"
                " now() - interval '1 hour', 0, 0, 0, 0, 0, 0, 0, '[]', '')"
            ),
            {"id": stuck, "venue": venues["P3001"]},
        )
    report = await sync_all(importer_engine, importer.syncer, concurrency=3)
    assert len(report.succeeded) == 3
    async with importer_engine.connect() as conn:
        status, error = (
            await conn.execute(
                text("SELECT status, error FROM syncs WHERE id = :id"), {"id": stuck}
            )
        ).one()
    assert (status, error) == ("FAILED", "interrupted: no progress for 900 s")


async def test_sync_all_runs_as_a_command(importer_settings, importer_engine, venues, jwt_keys):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(REPO / root) for root in ("gen", "libs", "services/import")
        ),
        "DATABASE_URL": importer_settings.database_url,
        "CATALOG_ADDR": importer_settings.catalog_addr,
        "JWT_PRIVATE_KEY_FILE": str(jwt_keys[0]),
        "JWT_PUBLIC_KEY_FILE": str(jwt_keys[1]),
        "ALLOCINE_API_URL": importer_settings.allocine_api_url,
        "ALLOCINE_API_KEY": importer_settings.allocine_api_key,
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "importer",
        "sync-all",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    assert "sync-all: 3 succeeded, 0 failed, 0 already under way" in output.decode()
    assert await syncs_by_venue(importer_engine) == {
        venue_id: ["SCHEDULED SUCCEEDED"] for venue_id in venues.values()
    }
