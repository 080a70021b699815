"""The views' tables of enum names: every value of the protobuf enum but its zero (UNSPECIFIED),
named as in the proto less its prefix, and exactly the names the JSON schema allows."""

from typing import get_args

import pytest

from gateway import allocine_views, booking_views, catalog_views
from gateway.schemas import accounts, allocine, bookings, common, offers
from passculture.booking.v1 import resources_pb2 as booking_pb
from passculture.catalog.v1 import resources_pb2 as catalog_pb
from passculture.importer.v1 import resources_pb2 as importer_pb

# (the view's table, its protobuf enum, the enum's value prefix, the schema's Literal)
TABLES = [
    (catalog_views.FEATURE_NAMES, catalog_pb.Feature, "FEATURE_", common.Feature),
    (
        catalog_views.OFFERER_STATUS_NAMES,
        catalog_pb.OffererStatus,
        "OFFERER_STATUS_",
        accounts.OffererStatus,
    ),
    (
        catalog_views.OFFER_SOURCE_NAMES,
        catalog_pb.OfferSource,
        "OFFER_SOURCE_",
        offers.OfferSource,
    ),
    (
        booking_views.STATUS_NAMES,
        booking_pb.BookingStatus,
        "BOOKING_STATUS_",
        bookings.BookingStatus,
    ),
    (
        booking_views.CANCELLATION_REASON_NAMES,
        booking_pb.CancellationReason,
        "CANCELLATION_REASON_",
        bookings.CancellationReason,
    ),
    (
        booking_views.VALIDATION_AUTHOR_NAMES,
        booking_pb.ValidationAuthor,
        "VALIDATION_AUTHOR_",
        bookings.ValidationAuthor,
    ),
    (
        allocine_views.SYNC_STATUS_NAMES,
        importer_pb.SyncStatus,
        "SYNC_STATUS_",
        allocine.SyncStatus,
    ),
    (
        allocine_views.SYNC_TRIGGER_NAMES,
        importer_pb.SyncTrigger,
        "SYNC_TRIGGER_",
        allocine.SyncTrigger,
    ),
]


@pytest.mark.parametrize(
    ("names", "enum", "prefix", "literal"),
    TABLES,
    ids=[enum.DESCRIPTOR.name for _, enum, _, _ in TABLES],
)
def test_enum_names_are_the_protos_and_the_schemas(names, enum, prefix, literal):
    named = {value: name.removeprefix(prefix) for name, value in enum.items() if value}
    assert dict(names) == named
    assert set(names.values()) == set(get_args(literal))


def test_the_booking_services_feature_names_are_the_schemas():
    assert set(booking_views.FEATURES_BY_NAME) == set(get_args(common.Feature))
    assert all(name == value for name, value in booking_views.FEATURES_BY_NAME.items())
