"""ProviderService: a provider's offers and stocks (Allociné), upserted in bulk by reference.

Creations by an import publish no `stock.updated` event: nobody can have booked a showtime
that did not exist, and the only consumer (booking) reacts to moved showtimes. Changes of an
existing stock do publish one each (with `previous_starts_at` when it moved), like a pro's edit.
"""

import functools
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.domain import provider_import as rules
from catalog.domain.provider_import import ProposedOffer, ProposedStock
from catalog.domain.status import OfferSource
from catalog.ids import parse_id
from catalog.models import Venue
from catalog.provider_upsert import ProviderUpsert
from catalog.resources import OFFER_SOURCE, features_from_pb
from passculture.catalog.v1 import provider_service_pb2 as pb
from passculture.catalog.v1 import provider_service_pb2_grpc as pb_grpc
from passculture.catalog.v1 import resources_pb2
from passculture.catalog.v1.reasons import Reason
from pclib.auth import require_role
from pclib.errors import InvalidArgument, NotFound

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IMPORT_SOURCES = {
    value: source for source, value in OFFER_SOURCE.items() if source is not OfferSource.MANUAL
}


def _source(value: resources_pb2.OfferSource) -> OfferSource:
    try:
        return IMPORT_SOURCES[value]
    except KeyError:
        raise InvalidArgument(
            Reason.INVALID_SOURCE, "source must be a provider, e.g. ALLOCINE"
        ) from None


@functools.lru_cache(maxsize=64)
def _features(values: tuple[resources_pb2.Feature, ...]) -> tuple[str, ...]:
    """VF/VO/3D of protobuf values; a handful of combinations, so each is converted once."""
    return tuple(features_from_pb(values))


def _stock(message: pb.ProviderStock) -> ProposedStock:
    if not message.HasField("starts_at"):
        raise InvalidArgument(Reason.INVALID_STARTS_AT, "every stock needs starts_at")
    # Faster than Timestamp.ToDatetime(), which counts with a batch of 120 000 stocks.
    starts = message.starts_at
    starts_at = EPOCH + timedelta(seconds=starts.seconds, microseconds=starts.nanos // 1000)
    return ProposedStock(
        reference=message.provider_reference,
        starts_at=starts_at,
        price_cents=message.price_cents,
        quantity=message.quantity if message.HasField("quantity") else None,
        features=_features(tuple(message.features)),
    )


def _offer(message: pb.ProviderOffer) -> ProposedOffer:
    return ProposedOffer(
        reference=message.provider_reference,
        title=message.title,
        description=message.description,
        poster_url=message.poster_url,
        duration_minutes=message.duration_minutes if message.HasField("duration_minutes") else None,
        is_duo=message.is_duo,
        stocks=tuple(_stock(stock) for stock in message.stocks),
    )


class ProviderServicer(pb_grpc.ProviderServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def UpsertProviderOffers(
        self, request: pb.UpsertProviderOffersRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertProviderOffersResponse:
        require_role("service")
        venue_id = parse_id(request.venue_id, Reason.VENUE_NOT_FOUND)
        source = _source(request.source)
        offers = [_offer(offer) for offer in request.offers]
        rules.check_batch(offers)
        async with self._sessions.begin() as session:
            if await session.scalar(select(Venue.id).where(Venue.id == venue_id)) is None:
                raise NotFound(Reason.VENUE_NOT_FOUND, "venue not found")
            upsert = ProviderUpsert(session, venue_id, source, datetime.now(UTC))
            counts = await upsert.run(offers)
        return pb.UpsertProviderOffersResponse(
            offers_created=counts.offers_created,
            offers_updated=counts.offers_updated,
            stocks_created=counts.stocks_created,
            stocks_updated=counts.stocks_updated,
            stocks_skipped=counts.stocks_skipped,
        )
