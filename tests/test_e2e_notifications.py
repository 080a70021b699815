"""End to end over HTTP: a cinema sets a notification URL (a local receiver: the test stack
allows http and loopback); a booking and its cancellation reach it as signed POSTs (booking
outbox → relay → RabbitMQ → the booking worker's notifications consumer → its delivery loop),
the receiver verifies each signature with the secret shown at PUT, a failing receiver is tried
again, and the venue's delivery log shows it all. Private destinations are refused at PUT.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import json
import time

import httpx
import pytest
from e2e_helpers import (
    eventually,
    ok,
    problem,
    publish_cinema,
    publish_showtime,
    sign_up_young,
    token,
)

from booking.domain import notifications as rules
from tests.support.notification_receiver import notification_receiver

pytestmark = pytest.mark.e2e


async def test_bookings_and_cancellations_are_posted_signed_and_logged(booking_stack):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, "resa@lumiere.example.com")
        other, _ = await publish_cinema(http, admin, "resa@autre.example.com")
        _, stock = await publish_showtime(http, pro, venue, "Les Enfants du paradis", 24 * 5, 10)
        _, young = await sign_up_young(http, admin)
        hooks = f"/v1/pro/venues/{venue['id']}/notifications"

        # The first POST fails (500): tried again, then delivered.
        with notification_receiver(failures=1) as receiver:
            # The booking service learns of a new venue from the catalog's events.
            async def known() -> bool:
                answer = await http.get(hooks, headers=pro)
                return answer.json()["code"] == "NOTIFICATIONS_NOT_CONFIGURED"

            await eventually(known)
            problem(
                await http.put(hooks, json={"url": "http://169.254.169.254/latest"}, headers=pro),
                422,
                "NOTIFICATION_URL_FORBIDDEN",
            )
            problem(
                await http.put(hooks, json={"url": "ftp://cinema.example/"}, headers=pro),
                422,
                "INVALID_NOTIFICATION_URL",
            )
            settings = await ok(http.put(hooks, json={"url": receiver.url}, headers=pro))
            secret = settings["signing_secret"]
            assert (await ok(http.get(hooks, headers=pro)))["url"] == receiver.url
            assert "signing_secret" not in await ok(http.get(hooks, headers=pro))
            problem(await http.get(hooks, headers=other), 404, "VENUE_NOT_FOUND")

            booked = await ok(
                http.post(
                    "/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=young
                ),
                201,
            )
            await ok(http.post(f"/v1/bookings/{booked['id']}/cancel", headers=young))

            async def all_delivered() -> list | None:
                log = await ok(http.get(f"{hooks}/deliveries", headers=pro))
                statuses = [item["status"] for item in log["items"]]
                return log["items"] if statuses == ["DELIVERED", "DELIVERED"] else None

            deliveries = await eventually(all_delivered)
            received = list(receiver.received)
        for message in received:
            header = message.headers[rules.SIGNATURE_HEADER]
            assert rules.verify(secret, header, message.body, now=int(time.time()))
            assert json.loads(message.body)["booking"]["id"] == booked["id"]
        assert len(received) == 3  # the first BOOK or CANCEL was answered 500, then retried

        assert {item["action"] for item in deliveries} == {"BOOK", "CANCEL"}
        assert sorted(item["attempts"] for item in deliveries) == [1, 2]
        assert {json.loads(message.body)["action"] for message in received} == {"BOOK", "CANCEL"}
        problem(await http.get(f"{hooks}/deliveries", headers=other), 404, "VENUE_NOT_FOUND")

        removed = await http.delete(hooks, headers=pro)
        assert removed.status_code == 204, removed.text
        problem(await http.get(hooks, headers=pro), 404, "NOTIFICATIONS_NOT_CONFIGURED")
