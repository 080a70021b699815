"""Conversions between the catalog's rows and its protobuf messages."""

import uuid
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from catalog import models
from passculture.catalog.v1 import resources_pb2 as pb
from pclib.errors import InvalidArgument, NotFound

OFFERER_STATUS = {
    "PENDING": pb.OFFERER_STATUS_PENDING,
    "VALIDATED": pb.OFFERER_STATUS_VALIDATED,
    "REJECTED": pb.OFFERER_STATUS_REJECTED,
}
OFFER_SOURCE = {"MANUAL": pb.OFFER_SOURCE_MANUAL, "ALLOCINE": pb.OFFER_SOURCE_ALLOCINE}
FEATURE_TO_PB = {"VF": pb.FEATURE_VF, "VO": pb.FEATURE_VO}
FEATURE_FROM_PB = {value: key for key, value in FEATURE_TO_PB.items()}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def optional_datetime(message, field: str) -> datetime | None:
    return to_datetime(getattr(message, field)) if message.HasField(field) else None


def parse_id(value: str, not_found_reason: str) -> uuid.UUID:
    """An id from a request; a malformed one cannot name anything, so it is 'not found'."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(not_found_reason, f"no such id: {value!r}") from None


NIL_ID = uuid.UUID(int=0)


def filter_id(value: str) -> uuid.UUID:
    """An id used as a list filter: a malformed one matches nothing (an empty page, not a 404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return NIL_ID


def features_from_pb(values) -> list[str]:
    try:
        return sorted({FEATURE_FROM_PB[value] for value in values})
    except KeyError:
        raise InvalidArgument("INVALID_FEATURE", "features must be VF or VO") from None


def offerer_pb(offerer: models.Offerer) -> pb.Offerer:
    return pb.Offerer(
        id=str(offerer.id),
        siren=offerer.siren,
        name=offerer.name,
        status=OFFERER_STATUS[offerer.status],
    )


def user_pb(user: models.ProUser) -> pb.ProUser:
    return pb.ProUser(
        id=str(user.id),
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        is_admin=user.is_admin,
    )


def venue_pb(venue: models.Venue) -> pb.Venue:
    return pb.Venue(
        id=str(venue.id),
        offerer_id=str(venue.offerer_id),
        name=venue.name,
        siret=venue.siret or "",
        address=venue.address,
        postal_code=venue.postal_code,
        city=venue.city,
        latitude=venue.latitude,
        longitude=venue.longitude,
        booking_email=venue.booking_email,
        timezone=venue.timezone,
    )


def offer_pb(offer: models.Offer) -> pb.Offer:
    return pb.Offer(
        id=str(offer.id),
        venue_id=str(offer.venue_id),
        title=offer.title,
        description=offer.description,
        poster_url=offer.poster_url,
        duration_minutes=offer.duration_minutes,
        is_duo=offer.is_duo,
        is_active=offer.is_active,
        source=OFFER_SOURCE[offer.source],
    )


def stock_pb(stock: models.Stock) -> pb.Stock:
    return pb.Stock(
        id=str(stock.id),
        offer_id=str(stock.offer_id),
        starts_at=timestamp(stock.starts_at),
        price_cents=stock.price_cents,
        quantity=stock.quantity,
        booked_quantity=stock.booked_quantity,
        booking_limit_at=timestamp(stock.booking_limit_at),
        features=[FEATURE_TO_PB[feature] for feature in stock.features],
        is_active=stock.is_active,
    )
