"""Idempotency keys on creates: the same key from the same caller creates once."""

import asyncio

import grpc
import pytest

from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import venue_service_pb2 as venues_pb
from tests.support.catalog_helpers import make_pro, make_venue, reason_of, siret_of


def keyed(pro, key: str) -> tuple:
    return (*pro.metadata, ("idempotency-key", key))


async def test_the_same_key_returns_the_first_answer(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    request = offers_pb.CreateOfferRequest(venue_id=venue.id, title="Le Mépris")
    first = await catalog.offers.CreateOffer(request, metadata=keyed(pro, "k-1"))
    again = await catalog.offers.CreateOffer(request, metadata=keyed(pro, "k-1"))
    other = await catalog.offers.CreateOffer(request, metadata=keyed(pro, "k-2"))
    assert first == again
    assert other.offer.id != first.offer.id
    listed = await catalog.offers.ListOffers(offers_pb.ListOffersRequest(), metadata=pro.metadata)
    assert len(listed.offers) == 2


async def test_a_key_reused_for_another_request_is_refused(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    meta = keyed(pro, "k-1")
    await catalog.offers.CreateOffer(
        offers_pb.CreateOfferRequest(venue_id=venue.id, title="A"), metadata=meta
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.offers.CreateOffer(
            offers_pb.CreateOfferRequest(venue_id=venue.id, title="B"), metadata=meta
        )
    assert reason_of(failure.value) == "IDEMPOTENCY_KEY_REUSED"


async def test_keys_belong_to_their_caller(catalog, issuer):
    first, second = await make_pro(catalog, issuer), await make_pro(catalog, issuer)
    venue_a = await catalog.venues.CreateVenue(
        _venue_request(first), metadata=keyed(first, "shared")
    )
    venue_b = await catalog.venues.CreateVenue(
        _venue_request(second), metadata=keyed(second, "shared")
    )
    assert venue_a.venue.id != venue_b.venue.id


async def test_concurrent_calls_with_one_key_create_once(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    request = _venue_request(pro)
    answers = await asyncio.gather(
        *(catalog.venues.CreateVenue(request, metadata=keyed(pro, "storm")) for _ in range(10))
    )
    assert len({answer.venue.id for answer in answers}) == 1
    listed = await catalog.venues.ListVenues(venues_pb.ListVenuesRequest(), metadata=pro.metadata)
    assert len(listed.venues) == 1


def _venue_request(pro) -> venues_pb.CreateVenueRequest:
    return venues_pb.CreateVenueRequest(
        offerer_id=pro.offerer_id,
        name="Le Champo",
        siret=siret_of(pro.siren),
        address="51 rue des Écoles",
        postal_code="75005",
        city="Paris",
        latitude=48.8504,
        longitude=2.3431,
        booking_email="resa@champo.test",
    )
