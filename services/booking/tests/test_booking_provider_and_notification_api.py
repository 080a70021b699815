"""The booking service's side of the provider API and of notifications, through gRPC with a
real catalog: a provider token (an offerer's API key, as the gateway mints it) works the counter
and lists bookings by showtime for its offerer only; a venue's notification settings are its
pros' only, the URL checked when set, a new secret at each PUT."""

import uuid

import grpc
import pytest

from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import notification_service_pb2 as npb
from tests.support.booking_helpers import answer, failure, running_booking, store_booking
from tests.support.catalog_helpers import auth


@pytest.fixture
def local_settings(booking_settings):
    return booking_settings.model_copy(
        update={"notification_allow_http": True, "notification_allow_loopback": True}
    )


async def test_a_provider_works_the_counter_of_its_offerer_only(
    booking, booking_engine, issuer, pro, venue, other_venue
):
    provider = auth(issuer, pro.offerer_id, "provider")
    mine = await store_booking(booking_engine, venue)
    second = await store_booking(booking_engine, venue)
    theirs = await store_booking(booking_engine, other_venue)

    used = await booking.counter.UseCountermark(
        pb.UseCountermarkRequest(countermark=mine.booking.countermark), metadata=provider
    )
    assert used.booking.id == str(mine.booking.id)
    refused = await failure(
        booking.counter.UseCountermark(
            pb.UseCountermarkRequest(countermark=theirs.booking.countermark), metadata=provider
        )
    )
    assert answer(refused) == (grpc.StatusCode.NOT_FOUND, "COUNTERMARK_NOT_FOUND")
    by_showtime = await booking.counter.ListProBookings(
        pb.ListProBookingsRequest(stock_id=str(second.booking.stock_id)), metadata=provider
    )
    assert [b.id for b in by_showtime.bookings] == [str(second.booking.id)]
    everything = await booking.counter.ListProBookings(
        pb.ListProBookingsRequest(), metadata=provider
    )
    assert {b.id for b in everything.bookings} == {str(mine.booking.id), str(second.booking.id)}


async def test_a_provider_cannot_set_notifications(booking, issuer, pro, venue):
    provider = auth(issuer, pro.offerer_id, "provider")
    refused = await failure(
        booking.notifications.GetVenueNotifications(
            npb.GetVenueNotificationsRequest(venue_id=str(venue.id)), metadata=provider
        )
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_notification_settings_are_the_venues_pros_only(booking, pro, other_pro, venue):
    put = npb.PutVenueNotificationsRequest(
        venue_id=str(venue.id), url="https://hooks.cinema.example/pass"
    )
    refused = await failure(
        booking.notifications.PutVenueNotifications(put, metadata=other_pro.metadata)
    )
    assert answer(refused) == (grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")
    for venue_id in ("not-an-id", str(uuid.uuid4())):
        refused = await failure(
            booking.notifications.GetVenueNotifications(
                npb.GetVenueNotificationsRequest(venue_id=venue_id), metadata=pro.metadata
            )
        )
        assert answer(refused) == (grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")
    refused = await failure(
        booking.notifications.GetVenueNotifications(
            npb.GetVenueNotificationsRequest(venue_id=str(venue.id)), metadata=pro.metadata
        )
    )
    assert answer(refused) == (grpc.StatusCode.NOT_FOUND, "NOTIFICATIONS_NOT_CONFIGURED")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.cinema.example/pass", "INVALID_NOTIFICATION_URL"),  # https only
        ("https://127.0.0.1/pass", "NOTIFICATION_URL_FORBIDDEN"),
        ("https://10.0.0.8/pass", "NOTIFICATION_URL_FORBIDDEN"),
        ("https://169.254.169.254/pass", "NOTIFICATION_URL_FORBIDDEN"),
        ("https://[::1]/pass", "NOTIFICATION_URL_FORBIDDEN"),
        ("https://localhost/pass", "NOTIFICATION_URL_FORBIDDEN"),
    ],
)
async def test_production_refuses_http_and_private_destinations(booking, pro, venue, url, reason):
    refused = await failure(
        booking.notifications.PutVenueNotifications(
            npb.PutVenueNotificationsRequest(venue_id=str(venue.id), url=url),
            metadata=pro.metadata,
        )
    )
    assert answer(refused) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_each_put_makes_a_new_secret_shown_once(
    booking_engine, verifier, local_settings, pro, venue
):
    async with running_booking(booking_engine, verifier, local_settings) as (_, booking):
        put = npb.PutVenueNotificationsRequest(venue_id=str(venue.id), url="http://127.0.0.1:9/h")
        first = await booking.notifications.PutVenueNotifications(put, metadata=pro.metadata)
        second = await booking.notifications.PutVenueNotifications(put, metadata=pro.metadata)
        got = await booking.notifications.GetVenueNotifications(
            npb.GetVenueNotificationsRequest(venue_id=str(venue.id)), metadata=pro.metadata
        )
        await booking.notifications.DeleteVenueNotifications(
            npb.DeleteVenueNotificationsRequest(venue_id=str(venue.id)), metadata=pro.metadata
        )
        refused = await failure(
            booking.notifications.DeleteVenueNotifications(
                npb.DeleteVenueNotificationsRequest(venue_id=str(venue.id)),
                metadata=pro.metadata,
            )
        )
    assert first.signing_secret.startswith("whsec_")
    assert first.signing_secret != second.signing_secret
    assert got.notifications.url == "http://127.0.0.1:9/h"
    assert first.signing_secret not in str(got)
    assert answer(refused) == (grpc.StatusCode.NOT_FOUND, "NOTIFICATIONS_NOT_CONFIGURED")
