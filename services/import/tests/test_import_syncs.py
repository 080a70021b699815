"""Syncs end to end: the fake Allociné over real HTTP, the import service, the real catalog."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import resources_pb2 as catalog_pb
from passculture.importer.v1 import events_pb2, resources_pb2
from passculture.importer.v1 import importer_service_pb2 as pb
from pclib.timestamps import timestamp
from tests.support.allocine_feeds import edge, movie, showtime
from tests.support.catalog_helpers import make_pro, make_venue, siret_of
from tests.support.import_helpers import load_feed, put_settings, sync_now, upcoming

FIXTURES = Path(__file__).parent / "fixtures"
SUCCEEDED, FAILED = resources_pb2.SYNC_STATUS_SUCCEEDED, resources_pb2.SYNC_STATUS_FAILED
FEATURE_NAMES = {value: name.removeprefix("FEATURE_") for name, value in catalog_pb.Feature.items()}


def counters(sync) -> tuple:
    return (
        sync.offers_created,
        sync.offers_updated,
        sync.stocks_created,
        sync.stocks_updated,
        sync.showtimes_skipped,
        sync.movies_rejected,
    )


async def catalog_rows(engine, venue_id) -> dict[str, dict]:
    """The venue's offers and stocks by provider reference, with their row versions (xmin
    changes when a row is updated, xmax when it is locked)."""
    query = text("""
        SELECT o.provider_reference AS ref, o.xmin || '/' || o.xmax AS version, o.title,
               o.is_active, NULL::int AS price_cents, NULL::int AS quantity,
               NULL::timestamptz AS starts_at, NULL::timestamptz AS updated_at,
               NULL::boolean AS deleted
        FROM offers o WHERE o.venue_id = :venue
        UNION ALL
        SELECT s.provider_reference, s.xmin || '/' || s.xmax, NULL, s.is_active, s.price_cents,
               s.quantity, s.starts_at, s.updated_at, s.deleted_at IS NOT NULL
        FROM stocks s JOIN offers o ON o.id = s.offer_id WHERE o.venue_id = :venue
    """)
    async with engine.connect() as conn:
        result = await conn.execute(query, {"venue": venue_id})
        return {row.ref: dict(row._mapping) for row in result}


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


@pytest.fixture
def sample():
    return upcoming(load_feed(FIXTURES / "sample-theater.json"))


async def test_a_sync_imports_the_sample_feed(
    catalog, catalog_engine, importer, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591", price_cents=690, quantity=100)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.error) == (SUCCEEDED, "")
    assert counters(sync) == (2, 0, 4, 0, 4, 0)
    assert sync.showtimes_imported == 4
    assert sync.trigger == resources_pb2.SYNC_TRIGGER_ON_DEMAND
    assert sync.started_at.ToDatetime() <= sync.finished_at.ToDatetime()

    offers = await catalog.offers.ListOffers(
        offers_pb.ListOffersRequest(venue_id=venue.id), metadata=pro.metadata
    )
    by_title = {offer.title: offer for offer in offers.offers}
    assert set(by_title) == {"La Dernière Séance du Rex", "Les Oiseaux de passage"}
    rex = by_title["La Dernière Séance du Rex"]
    assert (rex.duration_minutes, rex.is_duo, rex.is_active) == (102, True, True)
    assert rex.source == 2  # OFFER_SOURCE_ALLOCINE
    stocks = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=rex.id), metadata=pro.metadata
    )
    paris = ZoneInfo("Europe/Paris")
    assert [
        f"{stock.starts_at.ToDatetime(tzinfo=UTC).astimezone(paris):%H:%M}"
        f" {stock.price_cents} {stock.quantity} {'+'.join(map(FEATURE_NAMES.get, stock.features))}"
        for stock in stocks.stocks
    ] == ["14:00 690 100 VF", "20:30 690 100 VO", "21:00 690 100 VF+3D"]
    # One tariff per film, the venue setting's price, as on the real platform.
    assert {stock.price_category_label for stock in stocks.stocks} == {"Tarif unique"}
    tariffs = await catalog.offers.ListPriceCategories(
        offers_pb.ListPriceCategoriesRequest(offer_id=rex.id), metadata=pro.metadata
    )
    assert [(c.label, c.price_cents) for c in tariffs.price_categories] == [("Tarif unique", 690)]


async def test_the_sync_is_published_as_sync_finished(
    importer, importer_engine, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    sync = await sync_now(importer, pro.metadata, venue.id)
    async with importer_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT routing_key, payload FROM outbox"))).all()
    assert [row.routing_key for row in rows] == ["sync.finished"]
    assert events_pb2.SyncFinished.FromString(rows[0].payload).sync == sync


@pytest.fixture
def sent(importer, monkeypatch) -> list[list[str]]:
    """The offer references of each sync's catalog upsert."""
    calls: list[list[str]] = []
    upsert = importer.syncer.catalog.upsert

    async def recording(venue_id, offers, on_applied, **options):
        calls.append([offer.reference for offer in offers])
        await upsert(venue_id, offers, on_applied, **options)

    monkeypatch.setattr(importer.syncer.catalog, "upsert", recording)
    return calls


async def test_a_second_sync_of_the_same_feed_changes_nothing(
    catalog_engine, importer, fake_allocine, cinema, sample, sent
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    first = await sync_now(importer, pro.metadata, venue.id)
    before = await catalog_rows(catalog_engine, venue.id)
    again = await sync_now(importer, pro.metadata, venue.id)
    assert (again.status, counters(again), again.showtimes_imported) == (
        SUCCEEDED,
        (0, 0, 0, 0, 4, 0),
        4,
    )
    assert (first.feed_unchanged, again.feed_unchanged) == (False, True)
    assert sent == [["310001", "310002"]]  # the second sync sent nothing
    assert await catalog_rows(catalog_engine, venue.id) == before


async def test_the_same_feed_sent_whole_to_the_catalog_changes_nothing(
    catalog_engine, importer, fake_allocine, cinema, sample, sent
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await sync_now(importer, pro.metadata, venue.id)
    before = await catalog_rows(catalog_engine, venue.id)
    claimed, _ = await importer.syncer.claim(uuid.UUID(venue.id), "SCHEDULED")
    again = await importer.syncer.run(claimed.id, full=True)
    assert (again.status, again.feed_unchanged) == ("SUCCEEDED", False)
    assert (again.offers_created, again.offers_updated) == (0, 0)
    assert (again.stocks_created, again.stocks_updated) == (0, 0)
    assert sent == [["310001", "310002"], ["310001", "310002"]]
    assert await catalog_rows(catalog_engine, venue.id) == before


async def test_feed_changes_that_do_not_matter_send_nothing(
    catalog_engine, importer, fake_allocine, cinema, sample, sent
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await sync_now(importer, pro.metadata, venue.id)
    sample["movieShowtimeList"]["edges"][0]["node"]["movie"]["cast"]["edges"] = []
    fake_allocine.set_feed("P0591", sample)
    again = await sync_now(importer, pro.metadata, venue.id)
    assert (again.status, again.feed_unchanged, counters(again)) == (
        SUCCEEDED,
        False,
        (0, 0, 0, 0, 4, 0),
    )
    assert sent == [["310001", "310002"], []]


async def test_a_changed_feed_updates_only_what_changed(
    catalog_engine, importer, fake_allocine, cinema, sample, sent
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await sync_now(importer, pro.metadata, venue.id)
    before = await catalog_rows(catalog_engine, venue.id)

    rex = sample["movieShowtimeList"]["edges"][0]["node"]
    rex["movie"]["title"] = "La Dernière Séance du Rex (version restaurée)"
    first_day = datetime.fromisoformat(rex["showtimes"][0]["startsAt"])
    rex["showtimes"].append(showtime(first_day + timedelta(days=2)))
    fake_allocine.set_feed("P0591", sample)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert counters(sync) == (0, 1, 1, 0, 4, 0)
    assert sent[-1] == ["310001"]  # Les Oiseaux did not change: not sent

    after = await catalog_rows(catalog_engine, venue.id)
    changed = sorted(ref for ref in after if after[ref] != before.get(ref))
    added = f"310001:{first_day + timedelta(days=2):%Y-%m-%dT%H:%M}:VF"
    assert changed == ["310001", added]


async def test_the_pro_s_choices_survive_a_resync(
    catalog, catalog_engine, importer, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591", price_cents=690, quantity=100)
    await sync_now(importer, pro.metadata, venue.id)
    rows = await catalog_rows(catalog_engine, venue.id)
    rex_refs = sorted(ref for ref in rows if ref.startswith("310001:"))
    edited_ref, deleted_ref, three_d_ref = rex_refs
    ids = await _stock_ids(catalog_engine, venue.id)
    limit = rows[edited_ref]["starts_at"] - timedelta(hours=1)
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(
            stock_id=ids[edited_ref],
            price_cents=450,
            quantity=30,
            booking_limit_at=timestamp(limit),
        ),
        metadata=pro.metadata,
    )
    await catalog.offers.DeleteStock(
        offers_pb.DeleteStockRequest(stock_id=ids[deleted_ref]), metadata=pro.metadata
    )
    oiseaux = await _offer_id(catalog_engine, venue.id, "310002")
    await catalog.offers.UpdateOffer(
        offers_pb.UpdateOfferRequest(offer_id=oiseaux, is_active=False), metadata=pro.metadata
    )

    await put_settings(importer, pro.metadata, venue.id, "P0591", price_cents=800, quantity=150)
    sync = await sync_now(importer, pro.metadata, venue.id)
    # Only Les Oiseaux' showtime and the Rex's 3D one, which the pro left as imported.
    assert (sync.status, sync.stocks_updated) == (SUCCEEDED, 2)

    after = await catalog_rows(catalog_engine, venue.id)
    assert (after[edited_ref]["price_cents"], after[edited_ref]["quantity"]) == (450, 30)
    assert after[deleted_ref]["deleted"] is True
    assert after["310002"]["is_active"] is False
    (oiseaux_ref,) = [ref for ref in after if ref.startswith("310002:")]
    assert (after[oiseaux_ref]["price_cents"], after[oiseaux_ref]["quantity"]) == (800, 150)
    assert (after[three_d_ref]["price_cents"], after[three_d_ref]["quantity"]) == (800, 150)
    async with catalog_engine.connect() as conn:
        kept_limit = await conn.scalar(
            text("SELECT booking_limit_at FROM stocks WHERE id = :id"), {"id": ids[edited_ref]}
        )
    assert kept_limit == limit


async def test_showtimes_that_leave_the_feed_are_kept(
    catalog_engine, importer, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await sync_now(importer, pro.metadata, venue.id)
    before = await catalog_rows(catalog_engine, venue.id)
    del sample["movieShowtimeList"]["edges"][1]
    fake_allocine.set_feed("P0591", sample)
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, counters(sync)) == (SUCCEEDED, (0, 0, 0, 0, 2, 0))
    assert await catalog_rows(catalog_engine, venue.id) == before


def metric(name: str, result: str) -> float:
    return REGISTRY.get_sample_value(name, {"result": result}) or 0.0


async def test_a_malformed_movie_is_rejected_and_counted_the_rest_imported(
    catalog_engine, importer, fake_allocine, cinema
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", upcoming(load_feed(FIXTURES / "quirks-theater.json")))
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    results = ("imported", "skipped", "rejected")
    before = [metric("import_showtimes_total", result) for result in results]
    synced_before = metric("import_sync_duration_seconds_count", "succeeded")
    sync = await sync_now(importer, pro.metadata, venue.id)
    after = [metric("import_showtimes_total", result) for result in results]
    assert [a - b for a, b in zip(after, before, strict=True)] == [7, 6, 4]
    assert metric("import_sync_duration_seconds_count", "succeeded") == synced_before + 1
    assert sync.status == SUCCEEDED
    assert (sync.offers_created, sync.stocks_created, sync.movies_rejected) == (3, 7, 5)
    assert {(item.movie, item.reason) for item in sync.rejected_movies} >= {
        ("500003", "movie: missing 'title'"),
        ("#8", "an edge has no 'node' object"),
    }
    offers = {ref for ref in await catalog_rows(catalog_engine, venue.id) if ":" not in ref}
    assert offers == {"500001", "500002", "500007"}


async def test_a_theater_in_reunion_is_read_in_its_own_time(
    catalog, catalog_engine, importer, fake_allocine, cinema
):
    pro, _ = cinema
    venue = await make_venue(
        catalog, pro, postal_code="97400", siret=siret_of(pro.siren, 2), at=(-20.88, 55.45)
    )
    tomorrow = (datetime.now(ZoneInfo("Indian/Reunion")) + timedelta(days=1)).date()
    fake_allocine.set_feed(
        "P9740",
        {
            "movieShowtimeList": {
                "totalCount": 1,
                "edges": [edge(movie(510001, "Le Volcan"), [showtime(f"{tomorrow}T20:30:00")])],
            }
        },
    )
    await put_settings(importer, pro.metadata, venue.id, "P9740")
    sync = await sync_now(importer, pro.metadata, venue.id)
    assert (sync.status, sync.stocks_created) == (SUCCEEDED, 1)
    rows = await catalog_rows(catalog_engine, venue.id)
    (stock,) = [row for ref, row in rows.items() if ":" in ref]
    assert stock["starts_at"] == datetime.fromisoformat(f"{tomorrow}T16:30:00+00:00")


async def test_a_sync_already_under_way_is_answered_instead_of_a_second_one(
    importer, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    fake_allocine.faults["P0591"] = "slow:0.2"
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    request = pb.StartSyncRequest(venue_id=venue.id)
    first = await importer.stub.StartSync(request, metadata=pro.metadata)
    second = await importer.stub.StartSync(request, metadata=pro.metadata)
    assert first.sync.status in (
        resources_pb2.SYNC_STATUS_PENDING,
        resources_pb2.SYNC_STATUS_RUNNING,
    )
    assert second.sync.id == first.sync.id
    await importer.background.wait()
    listed = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue.id), metadata=pro.metadata
    )
    assert [sync.status for sync in listed.syncs] == [SUCCEEDED]
    assert fake_allocine.requests["P0591"] == 1


async def test_an_idempotency_key_answers_the_first_start_again(
    importer, fake_allocine, cinema, sample
):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    keyed = (*pro.metadata, ("idempotency-key", "start-1"))
    request = pb.StartSyncRequest(venue_id=venue.id)
    first = await importer.stub.StartSync(request, metadata=keyed)
    await importer.background.wait()
    again = await importer.stub.StartSync(request, metadata=keyed)
    assert again == first
    await importer.background.wait()
    listed = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue.id), metadata=pro.metadata
    )
    assert len(listed.syncs) == 1


async def test_syncs_are_listed_newest_first_by_pages(importer, fake_allocine, cinema, sample):
    pro, venue = cinema
    fake_allocine.set_feed("P0591", sample)
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    ids = [(await sync_now(importer, pro.metadata, venue.id)).id for _ in range(3)]
    first = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue.id, page_size=2), metadata=pro.metadata
    )
    rest = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue.id, page_size=2, page_token=first.next_page_token),
        metadata=pro.metadata,
    )
    assert [sync.id for sync in [*first.syncs, *rest.syncs]] == ids[::-1]
    assert rest.next_page_token == ""


async def _stock_ids(engine, venue_id) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.provider_reference, s.id FROM stocks s JOIN offers o ON o.id = s.offer_id"
                " WHERE o.venue_id = :venue"
            ),
            {"venue": venue_id},
        )
        return {ref: str(stock_id) for ref, stock_id in rows}


async def _offer_id(engine, venue_id, reference: str) -> str:
    async with engine.connect() as conn:
        return str(
            await conn.scalar(
                text("SELECT id FROM offers WHERE venue_id = :venue AND provider_reference = :ref"),
                {"venue": venue_id, "ref": reference},
            )
        )
