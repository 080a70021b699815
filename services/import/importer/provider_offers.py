"""Offers as the catalog's ProviderService takes them: messages, fingerprints, and calls of
bounded size."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from importer.domain.programme import OfferProposal, features_label
from passculture.catalog.v1 import provider_service_pb2 as provider_pb
from passculture.catalog.v1 import resources_pb2

FEATURES = {
    "VF": resources_pb2.FEATURE_VF,
    "VO": resources_pb2.FEATURE_VO,
    "3D": resources_pb2.FEATURE_3D,
}
# The catalog takes at most 500 offers and 5 000 stocks per call.
MAX_OFFERS_PER_CALL = 500


@dataclass(frozen=True)
class OfferToSend:
    message: provider_pb.ProviderOffer
    fingerprint: bytes

    @property
    def reference(self) -> str:
        return self.message.provider_reference


def offer_fingerprint(offer: OfferProposal) -> bytes:
    """A hash of everything the offer says (cheaper than building its message)."""
    stocks = tuple(
        (
            s.reference,
            int(s.starts_at.timestamp()),
            s.price_cents,
            s.quantity,
            features_label(s.features),
        )
        for s in offer.stocks
    )
    header = (offer.reference, offer.title, offer.description, offer.poster_url)
    content = (*header, offer.duration_minutes, offer.is_duo, stocks)
    return hashlib.sha256(repr(content).encode()).digest()


def provider_message(offer: OfferProposal) -> provider_pb.ProviderOffer:
    return provider_pb.ProviderOffer(
        provider_reference=offer.reference,
        title=offer.title,
        description=offer.description,
        poster_url=offer.poster_url,
        duration_minutes=offer.duration_minutes,
        is_duo=offer.is_duo,
        stocks=[
            provider_pb.ProviderStock(
                provider_reference=stock.reference,
                starts_at=Timestamp(seconds=int(stock.starts_at.timestamp())),
                price_cents=stock.price_cents,
                quantity=stock.quantity,
                features=[FEATURES[feature] for feature in stock.features],
            )
            for stock in offer.stocks
        ],
    )


def to_send(offer: OfferProposal, fingerprint: bytes | None = None) -> OfferToSend:
    return OfferToSend(provider_message(offer), fingerprint or offer_fingerprint(offer))


@dataclass
class Chunk:
    offers: list[provider_pb.ProviderOffer]
    # Offers whose last part this chunk carries: done once it is applied.
    completed: dict[str, bytes]


def _parts(
    message: provider_pb.ProviderOffer, max_stocks: int
) -> Iterator[tuple[int, int, provider_pb.ProviderOffer]]:
    """(parts left after this one, stocks in it, the part) of an offer."""
    if len(message.stocks) <= max_stocks:
        yield 0, len(message.stocks), message
        return
    stocks = list(message.stocks)
    slices = [stocks[i : i + max_stocks] for i in range(0, len(stocks), max_stocks)]
    for index, part in enumerate(slices):
        piece = provider_pb.ProviderOffer()
        piece.CopyFrom(message)
        del piece.stocks[:]
        piece.stocks.extend(part)
        yield len(slices) - 1 - index, len(part), piece


def chunks(offers: list[OfferToSend], max_stocks: int) -> Iterator[Chunk]:
    """Calls of at most `max_stocks` stocks; an offer with more is sent in parts, each part
    in its own call (an offer appears once per call)."""
    chunk = Chunk([], {})
    size = 0
    for offer in offers:
        for parts_left, part, message in _parts(offer.message, max_stocks):
            if chunk.offers and (
                size + part > max_stocks or len(chunk.offers) >= MAX_OFFERS_PER_CALL
            ):
                yield chunk
                chunk, size = Chunk([], {}), 0
            chunk.offers.append(message)
            size += part
            if parts_left == 0:
                chunk.completed[offer.reference] = offer.fingerprint
    if chunk.offers:
        yield chunk
