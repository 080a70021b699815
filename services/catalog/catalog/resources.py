"""The catalog's rows as their protobuf resources (passculture.catalog.v1.resources)."""

from collections.abc import Iterable
from datetime import datetime

from catalog import models
from catalog.domain.status import OffererStatus, OfferSource
from passculture.catalog.v1 import api_key_service_pb2, member_service_pb2
from passculture.catalog.v1 import resources_pb2 as pb
from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument
from pclib.timestamps import timestamp

OFFERER_STATUS = {
    OffererStatus.PENDING: pb.OFFERER_STATUS_PENDING,
    OffererStatus.VALIDATED: pb.OFFERER_STATUS_VALIDATED,
    OffererStatus.REJECTED: pb.OFFERER_STATUS_REJECTED,
}
OFFER_SOURCE = {
    OfferSource.MANUAL: pb.OFFER_SOURCE_MANUAL,
    OfferSource.ALLOCINE: pb.OFFER_SOURCE_ALLOCINE,
    OfferSource.TICKETING: pb.OFFER_SOURCE_TICKETING,
}
FEATURE_TO_PB = {"VF": pb.FEATURE_VF, "VO": pb.FEATURE_VO, "3D": pb.FEATURE_3D}
FEATURE_FROM_PB = {value: key for key, value in FEATURE_TO_PB.items()}


def features_from_pb(values: Iterable[pb.Feature]) -> list[str]:
    """Stored in the enum's order (VF, VO, 3D): the order stocks had before 3D existed, so an
    import compares equal, and the one a person reads ("VO, 3D")."""
    try:
        return [FEATURE_FROM_PB[value] for value in sorted(set(values))]
    except KeyError:
        raise InvalidArgument(
            Reason.INVALID_FEATURE, "features must be among VF, VO and 3D"
        ) from None


def features_pb(features: Iterable[str]) -> list[pb.Feature]:
    return [FEATURE_TO_PB[feature] for feature in features]


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


def member_pb(user: models.ProUser, joined_at: datetime) -> member_service_pb2.Member:
    return member_service_pb2.Member(
        user_id=str(user.id),
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        joined_at=timestamp(joined_at),
    )


def api_key_pb(api_key: models.ApiKey) -> api_key_service_pb2.ApiKey:
    message = api_key_service_pb2.ApiKey(
        id=str(api_key.id),
        offerer_id=str(api_key.offerer_id),
        name=api_key.name,
        prefix=api_key.prefix,
        created_at=timestamp(api_key.created_at),
    )
    if api_key.last_used_at is not None:
        message.last_used_at.CopyFrom(timestamp(api_key.last_used_at))
    return message


def invitation_pb(invitation: models.Invitation) -> member_service_pb2.Invitation:
    return member_service_pb2.Invitation(
        id=str(invitation.id),
        offerer_id=str(invitation.offerer_id),
        email=invitation.email,
        created_at=timestamp(invitation.created_at),
        expires_at=timestamp(invitation.expires_at),
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


def price_category_pb(category: models.PriceCategory) -> pb.PriceCategory:
    return pb.PriceCategory(
        id=str(category.id),
        offer_id=str(category.offer_id),
        label=category.label,
        price_cents=category.price_cents,
    )


def stock_pb(stock: models.Stock, price_category_label: str) -> pb.Stock:
    return pb.Stock(
        id=str(stock.id),
        offer_id=str(stock.offer_id),
        starts_at=timestamp(stock.starts_at),
        price_cents=stock.price_cents,
        quantity=stock.quantity,
        booked_quantity=stock.booked_quantity,
        booking_limit_at=timestamp(stock.booking_limit_at),
        features=features_pb(stock.features),
        is_active=stock.is_active,
        price_category_id=str(stock.price_category_id),
        price_category_label=price_category_label,
        provider_reference=stock.provider_reference or "",
    )
