"""Syncs of venues linked to a ticketing system: the fake CDS and Boost over real HTTP, the
import service, the real catalog; the Allociné import's rules."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from importer.daily import sync_all
from passculture.importer.v1 import resources_pb2
from tests.support.catalog_helpers import make_pro, make_venue
from tests.support.import_helpers import put_boost_link, put_link, sync_now

SUCCEEDED, FAILED = resources_pb2.SYNC_STATUS_SUCCEEDED, resources_pb2.SYNC_STATUS_FAILED
PARIS = timezone(timedelta(hours=1))
EVENING = datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), PARIS).replace(
    hour=20
)


async def stocks(engine, venue_id) -> dict[str, tuple]:
    query = text("""
        SELECT s.provider_reference AS ref, o.title, o.source, s.price_cents, s.quantity,
               s.features, s.starts_at, c.label
        FROM stocks s JOIN offers o ON o.id = s.offer_id
        JOIN price_categories c ON c.id = s.price_category_id
        WHERE o.venue_id = :venue AND s.deleted_at IS NULL
    """)
    async with engine.connect() as conn:
        rows = await conn.execute(query, {"venue": venue_id})
        return {
            row.ref: (row.title, row.source, row.price_cents, row.quantity, tuple(row.features))
            for row in rows
        }


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


async def test_cds_showtimes_with_a_pass_culture_tariff_are_imported(
    catalog_engine, importer, fake_cds, cinema
):
    pro, venue = cinema
    fake_cds.add_show(1, 52, "Le Voyage", EVENING, seats=80, labels=("VO",))
    fake_cds.add_show(2, 52, "Le Voyage", EVENING + timedelta(hours=2), tariffs=(5,))
    fake_cds.add_show(3, 53, "Passé", datetime.now(UTC) - timedelta(hours=1))
    await put_link(importer, pro.metadata, venue.id)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.error) == (SUCCEEDED, "")
    assert (sync.showtimes_imported, sync.showtimes_skipped) == (1, 1)
    assert await stocks(catalog_engine, venue.id) == {
        "1:1:4": ("Le Voyage", "TICKETING", 500, 80, ("VO",)),
    }
    again = await sync_now(importer, pro.metadata, venue.id)
    assert again.feed_unchanged
    fake_cds.show(1)["internetremainingplace"] = 60  # seats sold at the box office
    third = await sync_now(importer, pro.metadata, venue.id)
    assert (third.feed_unchanged, third.stocks_updated) == (False, 1)
    assert (await stocks(catalog_engine, venue.id))["1:1:4"][3] == 60


async def test_boost_one_stock_per_pass_culture_tariff_and_a_bad_film_alone_rejected(
    catalog_engine, importer, fake_boost, cinema
):
    pro, venue = cinema
    fake_boost.add_showtime(
        10, 7, "BLACK PANTHER", EVENING, pricings=((108, "PCU", "6.00"), (110, "PC2", "4.00"))
    )
    fake_boost.add_showtime(11, 8, "", EVENING)  # a film without a title
    fake_boost.add_showtime(12, 9, "GRATUIT", EVENING, pricings=((120, "PCU", "0.00"),))
    await put_boost_link(importer, pro.metadata, venue.id)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.movies_rejected) == (SUCCEEDED, 2)
    assert {m.movie for m in sync.rejected_movies} == {"8", "9"}
    assert await stocks(catalog_engine, venue.id) == {
        "10:108": ("BLACK PANTHER", "TICKETING", 600, 100, ("VO",)),
        "10:110": ("BLACK PANTHER", "TICKETING", 400, 100, ("VO",)),
    }


async def test_cds_3d_showtimes_are_imported_with_their_version_and_3d(
    catalog_engine, importer, fake_cds, cinema
):
    pro, venue = cinema
    fake_cds.add_show(1, 54, "Avatar", EVENING, labels=("VO", "3D"))
    fake_cds.add_show(2, 54, "Avatar", EVENING + timedelta(hours=3), labels=("3D",))
    await put_link(importer, pro.metadata, venue.id)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.showtimes_imported) == (SUCCEEDED, 2)
    assert {ref: row[4] for ref, row in (await stocks(catalog_engine, venue.id)).items()} == {
        "1:1:4": ("VO", "3D"),
        "2:1:4": ("VF", "3D"),
    }


async def test_boost_3d_showtimes_are_imported_with_their_version_and_3d(
    catalog_engine, importer, fake_boost, cinema
):
    pro, venue = cinema
    fake_boost.add_showtime(20, 7, "AVATAR", EVENING, pricings=((108, "PCU", "6.00"),))
    fake_boost.add_showtime(
        21, 7, "AVATAR", EVENING, pricings=((109, "PCU", "7.00"),), format_title="3D"
    )
    await put_boost_link(importer, pro.metadata, venue.id)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.showtimes_imported) == (SUCCEEDED, 2)
    assert {ref: row[4] for ref, row in (await stocks(catalog_engine, venue.id)).items()} == {
        "20:108": ("VO",),
        "21:109": ("VO", "3D"),
    }


async def test_a_system_down_fails_the_sync_with_its_reason(importer, fake_cds, cinema):
    pro, venue = cinema
    await put_link(importer, pro.metadata, venue.id, secret="wrong-token")
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert sync.status == FAILED
    assert "401" in sync.error and "wrong-token" not in sync.error


async def test_the_daily_run_syncs_linked_venues_too(
    catalog_engine, importer, importer_engine, fake_cds, cinema
):
    pro, venue = cinema
    fake_cds.add_show(1, 52, "Le Voyage", EVENING)
    await put_link(importer, pro.metadata, venue.id)
    report = await sync_all(importer_engine, importer.syncer, concurrency=2)
    assert list(map(str, report.succeeded)) == [venue.id]
    assert set(await stocks(catalog_engine, venue.id)) == {"1:1:4"}
