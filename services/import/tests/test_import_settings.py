"""Allociné settings through gRPC: who may set them, and what is refused."""

import grpc
import pytest

from passculture.catalog.v1 import venue_service_pb2 as venues_pb
from passculture.importer.v1 import importer_service_pb2 as pb
from tests.support.catalog_helpers import auth, make_pro, make_venue, reason_of, siret_of
from tests.support.import_helpers import put_settings


async def expect_error(call, code: grpc.StatusCode, reason: str):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


async def test_settings_are_put_and_read_back_with_their_defaults(importer, cinema):
    pro, venue = cinema
    saved = await put_settings(importer, pro.metadata, venue.id, "VGhlYXRlcjpQMDU5MQ==")
    assert (saved.venue_id, saved.theater_id, saved.theater_relay_id) == (
        venue.id,
        "P0591",
        "VGhlYXRlcjpQMDU5MQ==",
    )
    assert (saved.price_cents, saved.HasField("quantity"), saved.is_duo, saved.enabled) == (
        690,
        False,
        True,
        True,
    )
    read = await importer.stub.GetAllocineSettings(
        pb.GetAllocineSettingsRequest(venue_id=venue.id), metadata=pro.metadata
    )
    assert read.settings == saved


async def test_putting_again_replaces_the_settings(importer, cinema):
    pro, venue = cinema
    await put_settings(importer, pro.metadata, venue.id, "P0591", quantity=80)
    saved = await put_settings(
        importer, pro.metadata, venue.id, "c0159", price_cents=550, is_duo=False, enabled=False
    )
    assert (saved.theater_id, saved.price_cents, saved.HasField("quantity")) == (
        "C0159",
        550,
        False,
    )
    assert (saved.is_duo, saved.enabled) == (False, False)


async def test_a_venue_without_siret_is_refused(catalog, importer, cinema):
    pro, _ = cinema
    venue = await make_venue(catalog, pro, siret="")
    await expect_error(
        put_settings(importer, pro.metadata, venue.id, "P0591"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENUE_WITHOUT_SIRET",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"price_cents": 0}, "INVALID_PRICE"),
        ({"price_cents": 30001}, "INVALID_PRICE"),
        ({"quantity": -1}, "INVALID_QUANTITY"),
        ({"theater_id": "Cinéma du coin"}, "INVALID_THEATER_ID"),
    ],
)
async def test_invalid_settings_are_refused(importer, cinema, fields, reason):
    pro, venue = cinema
    theater = fields.pop("theater_id", "P0591")
    await expect_error(
        put_settings(importer, pro.metadata, venue.id, theater, **fields),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )


async def test_a_theater_is_imported_by_one_venue_only(catalog, importer, cinema):
    pro, venue = cinema
    other = await make_venue(catalog, pro, siret=siret_of(pro.siren, 2))
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await expect_error(
        put_settings(importer, pro.metadata, other.id, "P0591"),
        grpc.StatusCode.ALREADY_EXISTS,
        "THEATER_TAKEN",
    )


async def test_no_settings_yet_is_not_found(importer, cinema):
    pro, venue = cinema
    await expect_error(
        importer.stub.GetAllocineSettings(
            pb.GetAllocineSettingsRequest(venue_id=venue.id), metadata=pro.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "ALLOCINE_SETTINGS_NOT_FOUND",
    )
    await expect_error(
        importer.stub.StartSync(pb.StartSyncRequest(venue_id=venue.id), metadata=pro.metadata),
        grpc.StatusCode.NOT_FOUND,
        "ALLOCINE_SETTINGS_NOT_FOUND",
    )


async def test_another_pro_s_venue_is_not_found_whatever_the_call(
    catalog, issuer, importer, cinema
):
    pro, venue = cinema
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    stranger = await make_pro(catalog, issuer)
    calls = [
        lambda venue_id: put_settings(importer, stranger.metadata, venue_id, "P0592"),
        lambda venue_id: importer.stub.GetAllocineSettings(
            pb.GetAllocineSettingsRequest(venue_id=venue_id), metadata=stranger.metadata
        ),
        lambda venue_id: importer.stub.StartSync(
            pb.StartSyncRequest(venue_id=venue_id), metadata=stranger.metadata
        ),
        lambda venue_id: importer.stub.ListSyncs(
            pb.ListSyncsRequest(venue_id=venue_id), metadata=stranger.metadata
        ),
    ]
    for call in calls:
        for venue_id in (venue.id, "00000000-0000-0000-0000-000000000000", "not-an-id"):
            await expect_error(call(venue_id), grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")


async def test_an_admin_may_set_any_venue(issuer, importer, cinema):
    _, venue = cinema
    admin = auth(issuer, "00000000-0000-0000-0000-0000000000ad", "admin")
    saved = await put_settings(importer, admin, venue.id, "P0591")
    assert saved.venue_id == venue.id


async def test_callers_must_be_pros(issuer, importer, cinema):
    _, venue = cinema
    await expect_error(
        put_settings(importer, (), venue.id, "P0591"),
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )
    young = auth(issuer, "00000000-0000-0000-0000-000000000001", "beneficiary")
    await expect_error(
        put_settings(importer, young, venue.id, "P0591"),
        grpc.StatusCode.PERMISSION_DENIED,
        "FORBIDDEN",
    )


async def test_a_siret_removed_later_stops_syncs(catalog, importer, cinema):
    pro, venue = cinema
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await catalog.venues.UpdateVenue(
        venues_pb.UpdateVenueRequest(venue_id=venue.id, siret=""), metadata=pro.metadata
    )
    await expect_error(
        importer.stub.StartSync(pb.StartSyncRequest(venue_id=venue.id), metadata=pro.metadata),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENUE_WITHOUT_SIRET",
    )
