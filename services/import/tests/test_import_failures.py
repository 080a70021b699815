"""Feeds that fail: the theater's sync is FAILED with its reason, the other theaters import."""

import uuid
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from importer.daily import sync_all
from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import resources_pb2
from tests.support.catalog_helpers import make_pro, make_venue, siret_of
from tests.support.import_helpers import load_feed, put_settings, sync_now, upcoming

FIXTURES = Path(__file__).parent / "fixtures"
SUCCEEDED, FAILED = resources_pb2.SYNC_STATUS_SUCCEEDED, resources_pb2.SYNC_STATUS_FAILED


@pytest.fixture
async def pro(catalog, issuer):
    return await make_pro(catalog, issuer)


@pytest.fixture
def sample():
    return upcoming(load_feed(FIXTURES / "sample-theater.json"))


async def cinemas(catalog, importer, pro, theaters: list[str]) -> dict[str, str]:
    """One venue per theater: theater → venue id."""
    venues = {}
    for number, theater in enumerate(theaters, start=1):
        venue = await make_venue(catalog, pro, siret=siret_of(pro.siren, number))
        await put_settings(importer, pro.metadata, venue.id, theater)
        venues[theater] = venue.id
    return venues


async def last_sync(importer, pro, venue_id):
    listed = await importer.stub.ListSyncs(
        pb.ListSyncsRequest(venue_id=venue_id), metadata=pro.metadata
    )
    return listed.syncs[0]


async def test_500_timeout_and_not_json_fail_their_theater_only(
    catalog, importer, importer_engine, fake_allocine, pro, sample
):
    theaters = ["P1000", "P1500", "P1501", "P1502", "P1503"]
    venues = await cinemas(catalog, importer, pro, theaters)
    for theater in theaters:
        fake_allocine.set_feed(theater, sample)
    fake_allocine.faults.update(
        {"P1500": "500", "P1501": "timeout", "P1502": "not-json", "P1503": "flaky:2"}
    )

    failed_before = REGISTRY.get_sample_value(
        "import_sync_duration_seconds_count", {"result": "failed"}
    )
    report = await sync_all(importer_engine, importer.syncer, concurrency=3)
    failed_after = REGISTRY.get_sample_value(
        "import_sync_duration_seconds_count", {"result": "failed"}
    )
    assert failed_after - failed_before == 3

    assert sorted(report.failed) == sorted(
        uuid.UUID(venues[t]) for t in ("P1500", "P1501", "P1502")
    )
    assert sorted(report.succeeded) == sorted(uuid.UUID(venues[t]) for t in ("P1000", "P1503"))
    errors = {t: (await last_sync(importer, pro, venues[t])).error for t in theaters}
    assert errors == {
        "P1000": "",
        "P1500": "Allociné answered HTTP 500 (after 3 attempts)",
        "P1501": "Allociné did not answer in time (after 3 attempts)",
        "P1502": "Allociné's answer is not JSON",
        "P1503": "",  # two 503 then the feed: retried
    }
    for theater in ("P1000", "P1503"):
        imported = await last_sync(importer, pro, venues[theater])
        assert (imported.status, imported.stocks_created) == (SUCCEEDED, 4)
    failed = await last_sync(importer, pro, venues["P1500"])
    assert (failed.status, failed.stocks_created) == (FAILED, 0)
    assert failed.HasField("finished_at")
    # Transient failures are retried; an answer that is not JSON is not.
    assert fake_allocine.requests == {
        "P1000": 1,
        "P1500": 3,
        "P1501": 3,
        "P1502": 1,
        "P1503": 3,
    }


@pytest.mark.parametrize(
    ("setup", "error", "requests"),
    [
        (
            lambda fake: fake.set_feed("P2000", b'{"data": null}'),
            "the feed has no movieShowtimeList object",
            1,
        ),
        (lambda fake: None, "Allociné answered HTTP 404", 1),
        (
            lambda fake: setattr(fake, "api_key", "another key"),
            "Allociné refused the API key (HTTP 401)",
            1,
        ),
    ],
    ids=["not-a-showtime-list", "unknown-theater", "wrong-key"],
)
async def test_4xx_and_unreadable_feeds_fail_without_retry(
    catalog, importer, fake_allocine, pro, setup, error, requests
):
    (venue_id,) = (await cinemas(catalog, importer, pro, ["P2000"])).values()
    setup(fake_allocine)
    sync = await sync_now(importer, pro.metadata, venue_id)
    assert (sync.status, sync.error) == (FAILED, error)
    assert fake_allocine.requests["P2000"] == requests
