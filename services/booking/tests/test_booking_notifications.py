"""Booking notifications against a real database and a local receiver: what a delivery POSTs
and how a receiver verifies it, the retries with backoff, the dead letter after the window, and
the destinations refused (SSRF) when resolving the host."""

import asyncio
import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from booking import notifications, views
from booking.domain import notifications as rules
from booking.domain.status import DeliveryStatus, NotificationAction
from booking.models import NotificationDelivery, VenueNotification
from pclib.db import make_session_factory
from tests.support.booking_helpers import store_booking, store_venue
from tests.support.notification_receiver import notification_receiver

LOCAL = notifications.Destinations(allow_http=True, allow_loopback=True)
FAST = notifications.Schedule(
    first=timedelta(seconds=0.1), cap=timedelta(seconds=0.4), window=timedelta(hours=24)
)


async def _enqueue(pool, stored, action=NotificationAction.BOOK) -> None:
    """What the emails consumer does for a booking event: the booking and its venue's URL read,
    then the delivery recorded."""
    async with pool.connection() as conn:
        view, url = await views.with_notification_url(conn, stored.booking.id)
        await notifications.enqueue(conn, view, url, action, datetime.now(UTC))


async def _subscribed(engine, pool, url: str):
    """A venue with a notification URL and a booking of it, its delivery enqueued."""
    venue = await store_venue(engine)
    secret = notifications.new_signing_secret()
    stored = await store_booking(engine, venue)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        session.add(
            VenueNotification(
                venue_id=venue.id, url=url, signing_secret=secret, updated_at=datetime.now(UTC)
            )
        )
    await _enqueue(pool, stored)
    return sessions, secret, stored


async def _deliveries(sessions, booking_id) -> list[NotificationDelivery]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(NotificationDelivery).where(NotificationDelivery.booking_id == booking_id)
            )
        )


async def _until_settled(sessions, sender, schedule, booking_id, within: float = 20.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await notifications.deliver_due(sessions, sender, schedule)
        [delivery] = await _deliveries(sessions, booking_id)
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        await asyncio.sleep(0.02)
    raise AssertionError("the delivery never settled")


async def test_a_booking_is_posted_signed_and_the_receiver_verifies_it(
    booking_engine, booking_pool
):
    sender = notifications.Sender(LOCAL, timeout_seconds=2.0)
    with notification_receiver() as receiver:
        sessions, secret, stored = await _subscribed(booking_engine, booking_pool, receiver.url)
        delivery = await _until_settled(sessions, sender, FAST, stored.booking.id)
    await sender.close()

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
    )
    [received] = receiver.received
    header = received.headers[rules.SIGNATURE_HEADER]
    # The receiver's side: the raw body, the secret shown at PUT, the time.
    assert rules.verify(secret, header, received.body, now=int(time.time()))
    assert not rules.verify("whsec_other", header, received.body, now=int(time.time()))
    body = json.loads(received.body)
    assert body["action"] == "BOOK"
    assert body["booking"]["id"] == str(stored.booking.id)
    assert body["booking"]["countermark"] == stored.booking.countermark
    assert body["booking"]["starts_at"].endswith(("+01:00", "+02:00"))  # the venue's time
    assert received.headers["Content-Type"] == "application/json"


async def test_a_failing_receiver_is_retried_with_growing_waits(booking_engine, booking_pool):
    sender = notifications.Sender(LOCAL, timeout_seconds=2.0)
    with notification_receiver(failures=3) as receiver:
        sessions, _, stored = await _subscribed(booking_engine, booking_pool, receiver.url)
        delivery = await _until_settled(sessions, sender, FAST, stored.booking.id)
    await sender.close()

    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 4)
    gaps = [b.at - a.at for a, b in itertools.pairwise(receiver.received)]
    # 0.1 s, 0.2 s, then the 0.4 s cap: each wait at least the schedule's.
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert gap >= expected * 0.95, gaps
    assert gaps[2] > gaps[0]
    assert len({r.body for r in receiver.received}) == 1  # the same bytes every time


async def test_a_delivery_failing_for_the_whole_window_is_dead_lettered(
    booking_engine, booking_pool
):
    window = notifications.Schedule(
        first=timedelta(seconds=0.05), cap=timedelta(seconds=0.1), window=timedelta(seconds=0.5)
    )
    sender = notifications.Sender(LOCAL, timeout_seconds=2.0)
    with notification_receiver(failures=-1) as receiver:
        sessions, _, stored = await _subscribed(booking_engine, booking_pool, receiver.url)
        delivery = await _until_settled(sessions, sender, window, stored.booking.id)
        attempts = len(receiver.received)
        # Given up: never tried again.
        await asyncio.sleep(0.3)
        await notifications.deliver_due(sessions, sender, window)
        assert len(receiver.received) == attempts
    await sender.close()

    assert delivery.status == DeliveryStatus.DEAD_LETTERED
    assert delivery.attempts == attempts >= 3
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")


async def test_a_venue_without_url_gets_no_delivery(booking_engine, booking_pool):
    venue = await store_venue(booking_engine)
    stored = await store_booking(booking_engine, venue)
    await _enqueue(booking_pool, stored)
    assert await _deliveries(make_session_factory(booking_engine), stored.booking.id) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
        "http://localhost:9/hook",  # a name resolving to loopback addresses
        "http://[::ffff:192.168.0.1]/hook",
    ],
)
async def test_private_and_loopback_destinations_are_refused(url):
    production_like = notifications.Destinations(allow_http=True, allow_loopback=False)
    with pytest.raises(notifications.UnsafeDestination):
        await production_like.check(url)


async def test_the_test_setting_allows_loopback_and_nothing_private():
    await LOCAL.check("http://127.0.0.1:9/hook")  # negative control of the refusal above
    await LOCAL.check("http://localhost:9/hook")
    with pytest.raises(notifications.UnsafeDestination):
        await LOCAL.check("http://10.0.0.1/hook")


async def test_a_refused_destination_is_never_called_and_counts_as_a_failed_attempt(
    booking_engine, booking_pool
):
    production_like = notifications.Destinations(allow_http=True, allow_loopback=False)
    sender = notifications.Sender(production_like, timeout_seconds=2.0)
    with notification_receiver() as receiver:
        sessions, _, stored = await _subscribed(booking_engine, booking_pool, receiver.url)
        await notifications.deliver_due(sessions, sender, FAST)
        assert receiver.received == []
    await sender.close()
    [delivery] = await _deliveries(sessions, stored.booking.id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith("refused destination")
    assert uuid.UUID(str(delivery.id))


async def test_the_post_goes_to_the_checked_address_naming_the_host(booking_engine, booking_pool):
    sender = notifications.Sender(LOCAL, timeout_seconds=2.0)
    with notification_receiver() as receiver:
        by_name = receiver.url.replace("127.0.0.1", "localhost")
        sessions, _, stored = await _subscribed(booking_engine, booking_pool, by_name)
        delivery = await _until_settled(sessions, sender, FAST, stored.booking.id)
    await sender.close()
    assert delivery.status == DeliveryStatus.DELIVERED
    [received] = receiver.received
    # Connected to 127.0.0.1 (resolved once, checked), the Host header still the URL's.
    assert received.headers["Host"] == by_name.split("/")[2]


async def test_a_booking_gets_one_delivery_per_action_however_often_its_event_comes(
    booking_engine, booking_pool
):
    """The consumer handles an event at least once (effect consumer): enqueueing again adds
    nothing; a cancellation is a delivery of its own."""
    with notification_receiver() as receiver:
        sessions, _, stored = await _subscribed(booking_engine, booking_pool, receiver.url)
        await _enqueue(booking_pool, stored)
        await _enqueue(booking_pool, stored, NotificationAction.CANCEL)
        await _enqueue(booking_pool, stored, NotificationAction.CANCEL)
    deliveries = await _deliveries(sessions, stored.booking.id)
    assert sorted(d.action for d in deliveries) == [
        NotificationAction.BOOK,
        NotificationAction.CANCEL,
    ]
