"""The catalog's answers as JSON models, and the JSON bodies as the catalog's requests.

Proto3 has no null: an empty string or an unset optional field becomes JSON null where the
contract says so (a venue's `siret`, `duration_minutes`, unlimited quantities).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message

from gateway.proto_fields import instant, optional_instant, optional_int
from gateway.schemas import accounts, members, offers, search, venues
from gateway.schemas.common import Feature
from passculture.catalog.v1 import (
    api_key_service_pb2,
    member_service_pb2,
    offer_service_pb2,
    resources_pb2,
    search_service_pb2,
    venue_service_pb2,
)

FEATURES: Mapping[Feature, resources_pb2.Feature] = {
    "VF": resources_pb2.FEATURE_VF,
    "VO": resources_pb2.FEATURE_VO,
    "3D": resources_pb2.FEATURE_3D,
}
FEATURE_NAMES = {value: name for name, value in FEATURES.items()}
OFFERER_STATUS_NAMES: Mapping[resources_pb2.OffererStatus, accounts.OffererStatus] = {
    resources_pb2.OFFERER_STATUS_PENDING: "PENDING",
    resources_pb2.OFFERER_STATUS_VALIDATED: "VALIDATED",
    resources_pb2.OFFERER_STATUS_REJECTED: "REJECTED",
}
OFFER_SOURCE_NAMES: Mapping[resources_pb2.OfferSource, offers.OfferSource] = {
    resources_pb2.OFFER_SOURCE_MANUAL: "MANUAL",
    resources_pb2.OFFER_SOURCE_ALLOCINE: "ALLOCINE",
    resources_pb2.OFFER_SOURCE_TICKETING: "TICKETING",
}

AnyMessage = TypeVar("AnyMessage", bound=Message)


def _features(values: Iterable[resources_pb2.Feature]) -> list[Feature]:
    return [FEATURE_NAMES[value] for value in values]


def _set_fields(message: AnyMessage, values: dict[str, Any]) -> AnyMessage:
    """Sets fields from a dict; datetimes go into Timestamp fields."""
    for name, value in values.items():
        if isinstance(value, datetime):
            getattr(message, name).FromDatetime(value)
        else:
            setattr(message, name, value)
    return message


# Accounts


def pro_user_out(user: resources_pb2.ProUser) -> accounts.ProUserOut:
    return accounts.ProUserOut(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        is_admin=user.is_admin,
    )


def offerer_out(offerer: resources_pb2.Offerer) -> accounts.OffererOut:
    return accounts.OffererOut(
        id=offerer.id,
        siren=offerer.siren,
        name=offerer.name,
        status=OFFERER_STATUS_NAMES[offerer.status],
    )


# Members


def member_out(member: member_service_pb2.Member) -> members.MemberOut:
    return members.MemberOut(
        user_id=member.user_id,
        email=member.email,
        first_name=member.first_name,
        last_name=member.last_name,
        joined_at=instant(member, "joined_at"),
    )


def api_key_out(api_key: api_key_service_pb2.ApiKey) -> members.ApiKeyOut:
    return members.ApiKeyOut(
        id=api_key.id,
        offerer_id=api_key.offerer_id,
        name=api_key.name,
        prefix=api_key.prefix,
        created_at=instant(api_key, "created_at"),
        last_used_at=optional_instant(api_key, "last_used_at"),
    )


def invitation_out(invitation: member_service_pb2.Invitation) -> members.InvitationOut:
    return members.InvitationOut(
        id=invitation.id,
        offerer_id=invitation.offerer_id,
        email=invitation.email,
        created_at=instant(invitation, "created_at"),
        expires_at=instant(invitation, "expires_at"),
    )


# Venues


def create_venue_request(body: venues.VenueIn) -> venue_service_pb2.CreateVenueRequest:
    return venue_service_pb2.CreateVenueRequest(**body.model_dump(exclude_none=True))


def update_venue_request(
    venue_id: str, body: venues.VenuePatch
) -> venue_service_pb2.UpdateVenueRequest:
    changes = body.model_dump(exclude_unset=True)
    if "siret" in changes:
        changes["siret"] = changes["siret"] or ""  # empty removes the SIRET
    return venue_service_pb2.UpdateVenueRequest(venue_id=venue_id, **changes)


def venue_out(venue: resources_pb2.Venue) -> venues.VenueOut:
    return venues.VenueOut(
        id=venue.id,
        offerer_id=venue.offerer_id,
        name=venue.name,
        siret=venue.siret or None,
        address=venue.address,
        postal_code=venue.postal_code,
        city=venue.city,
        latitude=venue.latitude,
        longitude=venue.longitude,
        booking_email=venue.booking_email,
        timezone=venue.timezone,
    )


# Offers and stocks


def create_offer_request(
    venue_id: str, body: offers.OfferIn
) -> offer_service_pb2.CreateOfferRequest:
    return offer_service_pb2.CreateOfferRequest(
        venue_id=venue_id, **body.model_dump(exclude_none=True)
    )


def update_offer_request(
    offer_id: str, body: offers.OfferPatch
) -> offer_service_pb2.UpdateOfferRequest:
    return offer_service_pb2.UpdateOfferRequest(
        offer_id=offer_id, **body.model_dump(exclude_unset=True)
    )


def offer_out(offer: resources_pb2.Offer) -> offers.OfferOut:
    return offers.OfferOut(
        id=offer.id,
        venue_id=offer.venue_id,
        title=offer.title,
        description=offer.description,
        poster_url=offer.poster_url,
        duration_minutes=optional_int(offer, "duration_minutes"),
        is_duo=offer.is_duo,
        is_active=offer.is_active,
        source=OFFER_SOURCE_NAMES[offer.source],
    )


def create_stock_request(
    offer_id: str, body: offers.StockIn
) -> offer_service_pb2.CreateStockRequest:
    fields = body.model_dump(exclude_none=True, exclude={"features"})
    request = offer_service_pb2.CreateStockRequest(
        offer_id=offer_id, features=[FEATURES[name] for name in body.features]
    )
    return _set_fields(request, fields)


def update_stock_request(
    stock_id: str, body: offers.StockPatch
) -> offer_service_pb2.UpdateStockRequest:
    changes = body.model_dump(exclude_unset=True)
    request = offer_service_pb2.UpdateStockRequest(stock_id=stock_id)
    if "quantity" in changes and changes["quantity"] is None:
        del changes["quantity"]
        request.clear_quantity = True  # null: unlimited
    if "features" in changes:
        request.features.SetInParent()  # present even when empty: no features
        request.features.values.extend(FEATURES[name] for name in changes.pop("features"))
    return _set_fields(request, changes)


def stock_out(stock: resources_pb2.Stock) -> offers.StockOut:
    return offers.StockOut(
        id=stock.id,
        offer_id=stock.offer_id,
        starts_at=instant(stock, "starts_at"),
        price_cents=stock.price_cents,
        quantity=optional_int(stock, "quantity"),
        booked_quantity=stock.booked_quantity,
        booking_limit_at=instant(stock, "booking_limit_at"),
        features=_features(stock.features),
        is_active=stock.is_active,
        price_category_id=stock.price_category_id,
        price_category_label=stock.price_category_label,
    )


def price_category_out(category: resources_pb2.PriceCategory) -> offers.PriceCategoryOut:
    return offers.PriceCategoryOut(
        id=category.id,
        offer_id=category.offer_id,
        label=category.label,
        price_cents=category.price_cents,
    )


# Search


def venue_summary_out(venue: search_service_pb2.VenueSummary) -> search.VenueSummaryOut:
    return search.VenueSummaryOut(
        id=venue.id,
        name=venue.name,
        city=venue.city,
        latitude=venue.latitude,
        longitude=venue.longitude,
    )


def offer_summary_out(offer: search_service_pb2.OfferSummary) -> search.OfferSummaryOut:
    return search.OfferSummaryOut(
        id=offer.id,
        title=offer.title,
        poster_url=offer.poster_url,
        duration_minutes=optional_int(offer, "duration_minutes"),
        is_duo=offer.is_duo,
        venue=venue_summary_out(offer.venue),
        distance_km=offer.distance_km,
        min_price_cents=offer.min_price_cents,
        next_starts_at=instant(offer, "next_starts_at"),
        prices=[
            search.PriceOut(label=price.label, price_cents=price.price_cents)
            for price in offer.prices
        ],
    )


def public_stock_out(stock: search_service_pb2.PublicStock) -> search.PublicStockOut:
    return search.PublicStockOut(
        id=stock.id,
        starts_at=instant(stock, "starts_at"),
        price_cents=stock.price_cents,
        remaining_quantity=optional_int(stock, "remaining_quantity"),
        features=_features(stock.features),
        is_bookable=stock.is_bookable,
        price_category_id=stock.price_category_id,
        price_category_label=stock.price_category_label,
    )


def public_offer_out(offer: search_service_pb2.GetPublicOfferResponse) -> search.PublicOfferOut:
    return search.PublicOfferOut(
        id=offer.id,
        title=offer.title,
        description=offer.description,
        poster_url=offer.poster_url,
        duration_minutes=optional_int(offer, "duration_minutes"),
        is_duo=offer.is_duo,
        venue=venue_summary_out(offer.venue),
        stocks=[public_stock_out(stock) for stock in offer.stocks],
    )
