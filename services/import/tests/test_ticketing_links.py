"""A venue's ticketing link through gRPC: stored with its secret sealed, never answered; one
source of showtimes per venue (Allociné or the system)."""

import asyncio

import grpc
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import resources_pb2
from tests.support.catalog_helpers import make_pro, make_venue, reason_of, siret_of
from tests.support.import_helpers import put_link, put_settings


async def expect_error(call, code: grpc.StatusCode, reason: str):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


async def test_a_link_is_put_read_back_and_its_secret_sealed(
    importer, importer_engine, importer_settings, cinema
):
    pro, venue = cinema
    saved = await put_link(importer, pro.metadata, venue.id, secret="the-cds-token")
    assert (saved.venue_id, saved.system, saved.cinema_id, saved.account_id) == (
        venue.id,
        resources_pb2.TICKETING_SYSTEM_CDS,
        "cine-1",
        "moncinema",
    )
    read = await importer.stub.GetTicketingLink(
        pb.GetTicketingLinkRequest(venue_id=venue.id), metadata=pro.metadata
    )
    assert read.link == saved
    assert "the-cds-token" not in str(read)
    async with importer_engine.connect() as connection:
        sealed = (
            await connection.execute(text("SELECT secret_sealed FROM ticketing_links"))
        ).scalar_one()
    assert b"the-cds-token" not in sealed
    assert (
        Fernet(importer_settings.ticketing_secret_key.get_secret_value()).decrypt(sealed)
        == b"the-cds-token"
    )


async def test_a_link_is_replaced_then_deleted(importer, cinema):
    pro, venue = cinema
    await put_link(importer, pro.metadata, venue.id)
    saved = await put_link(
        importer,
        pro.metadata,
        venue.id,
        system=resources_pb2.TICKETING_SYSTEM_BOOST,
        cinema_id="cine-2",
        account_id="vendor",
    )
    assert (saved.system, saved.cinema_id) == (resources_pb2.TICKETING_SYSTEM_BOOST, "cine-2")
    request = pb.DeleteTicketingLinkRequest(venue_id=venue.id)
    await importer.stub.DeleteTicketingLink(request, metadata=pro.metadata)
    for call in (
        importer.stub.DeleteTicketingLink(request, metadata=pro.metadata),
        importer.stub.GetTicketingLink(
            pb.GetTicketingLinkRequest(venue_id=venue.id), metadata=pro.metadata
        ),
    ):
        await expect_error(call, grpc.StatusCode.NOT_FOUND, "TICKETING_LINK_NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"system": resources_pb2.TICKETING_SYSTEM_UNSPECIFIED}, "INVALID_TICKETING_SYSTEM"),
        ({"cinema_id": ""}, "INVALID_TICKETING_ACCOUNT"),
        ({"account_id": "a b"}, "INVALID_TICKETING_ACCOUNT"),
        ({"secret": ""}, "INVALID_TICKETING_SECRET"),
        ({"secret": "x" * 513}, "INVALID_TICKETING_SECRET"),
    ],
)
async def test_invalid_links_are_refused(importer, cinema, fields, reason):
    pro, venue = cinema
    await expect_error(
        put_link(importer, pro.metadata, venue.id, **fields),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )


async def test_another_pros_venue_is_not_found(catalog, issuer, importer, cinema):
    _, venue = cinema
    other = await make_pro(catalog, issuer)
    await expect_error(
        put_link(importer, other.metadata, venue.id),
        grpc.StatusCode.NOT_FOUND,
        "VENUE_NOT_FOUND",
    )


async def test_a_cinema_is_linked_to_one_venue(catalog, importer, cinema):
    pro, venue = cinema
    second = await make_venue(catalog, pro, siret=siret_of(pro.siren, 2))
    await put_link(importer, pro.metadata, venue.id)
    await expect_error(
        put_link(importer, pro.metadata, second.id),
        grpc.StatusCode.ALREADY_EXISTS,
        "TICKETING_CINEMA_TAKEN",
    )


async def test_allocine_and_a_ticketing_system_exclude_each_other(catalog, importer, cinema):
    pro, venue = cinema
    await put_settings(importer, pro.metadata, venue.id, "P0591")
    await expect_error(
        put_link(importer, pro.metadata, venue.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENUE_IMPORTS_FROM_ALLOCINE",
    )
    await put_settings(importer, pro.metadata, venue.id, "P0591", enabled=False)
    await put_link(importer, pro.metadata, venue.id)
    await expect_error(
        put_settings(importer, pro.metadata, venue.id, "P0591"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENUE_LINKED_TO_TICKETING",
    )


async def test_concurrent_allocine_and_link_writes_leave_one_source(catalog, importer, cinema):
    """Both checks read the other source then write: without the venue's lock, both pass."""
    pro, _ = cinema
    for establishment in range(2, 7):
        venue = await make_venue(catalog, pro, siret=siret_of(pro.siren, establishment))
        results = await asyncio.gather(
            put_settings(importer, pro.metadata, venue.id, f"P{venue.id[:4]}".upper()[:5]),
            put_link(importer, pro.metadata, venue.id, cinema_id=venue.id[:8]),
            return_exceptions=True,
        )
        assert sum(isinstance(r, grpc.aio.AioRpcError) for r in results) == 1, results
