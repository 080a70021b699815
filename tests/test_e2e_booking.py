"""End to end over HTTP: a young person books a showtime a pro published, the venue gets the
email and the young person their ticket, the pro validates the countermark at the counter, and a
cancellation gives the seat back (and the credit, which the young person is told).

Every process of `make run` runs for real (see conftest.booking_stack); the emails go to a real
SMTP server in this process (conftest.mailbox).
"""

import csv
import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from e2e_helpers import (
    eventually,
    in_hours,
    ok,
    problem,
    publish_cinema,
    publish_showtime,
    sign_up_young,
    token,
)

from tests.support.smtp_sink import html, text

pytestmark = pytest.mark.e2e
PARIS = ZoneInfo("Europe/Paris")


async def remaining_seats(http: httpx.AsyncClient, offer_id: str) -> int:
    offer = await ok(http.get(f"/v1/offers/{offer_id}"))
    return offer["stocks"][0]["remaining_quantity"]


async def test_a_young_person_books_and_the_cinema_validates_the_countermark(
    booking_stack, mailbox
):
    booking_email = f"resa-{uuid.uuid4().hex[:8]}@champo.example.com"
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, booking_email)
        # Tomorrow: booked less than 48h before, validatable at the counter at once.
        offer, stock = await publish_showtime(http, pro, venue, "Playtime", 24, quantity=10)
        young, me = await sign_up_young(http, admin)

        booking = await ok(
            http.post(
                "/v1/bookings",
                json={"stock_id": stock["id"], "quantity": 1},
                headers=me | {"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        assert booking["status"] == "CONFIRMED"
        countermark = booking["countermark"]
        assert booking["qr_payload"] == f"PASSCULTURE:v3;TOKEN:{countermark}"
        assert (await ok(http.get("/v1/me", headers=me)))["credit"]["remaining_cents"] == 29300
        assert await remaining_seats(http, offer["id"]) == 9
        qr = await http.get(f"/v1/bookings/{booking['id']}/qr.svg", headers=me)
        assert (qr.status_code, qr.headers["content-type"]) == (200, "image/svg+xml")

        # The venue's email, through the booking relay, RabbitMQ, the worker and SMTP.
        [email] = await eventually(lambda: mailbox.to(booking_email))
        body = text(email)
        assert countermark in body
        assert "Playtime" in email["Subject"]
        assert young["email"] in body
        assert young["email"] in email["Reply-To"]
        # The young person's: the ticket, where and when (Paris time), the QR code inline.
        [confirmation] = await eventually(lambda: mailbox.to(young["email"]))
        assert confirmation["Subject"].startswith("Votre réservation est confirmée : Playtime, ")
        assert confirmation["Message-ID"].strip().startswith(f"<confirmation.{booking['id']}@")
        body = text(confirmation)
        local_start = datetime.fromisoformat(stock["starts_at"]).astimezone(PARIS)
        for line in (
            f"Contremarque : {countermark}",
            "Cinéma : Le Champo",
            "Adresse : 51 rue des Écoles, 75005 Paris",
            f"Heure : {local_start.hour}h{local_start.minute:02d}",
            "Prix : 7,00 € la place",
            # Booked less than 48h before the showtime.
            "Annulation : non annulable",
        ):
            assert line in body
        assert f"cid:qr.{booking['id']}@" in html(confirmation)
        assert any(part.get_content_type() == "image/png" for part in confirmation.walk())

        # The counter: typed in lower case, checked, used, unused, used again.
        path = f"/v1/pro/countermarks/{countermark.lower()}"
        checked = await ok(http.get(path, headers=pro))
        assert (checked["booking_id"], checked["status"]) == (booking["id"], "CONFIRMED")
        assert checked["beneficiary"] == {
            "first_name": "Camille",
            "last_name": "Jeune",
            "email": young["email"],
        }
        assert (await ok(http.post(f"{path}/use", headers=pro)))["status"] == "USED"
        problem(await http.post(f"{path}/use", headers=pro), 410, "BOOKING_ALREADY_USED")
        assert (await ok(http.post(f"{path}/unuse", headers=pro)))["status"] == "CONFIRMED"
        assert (await ok(http.post(f"{path}/use", headers=pro)))["status"] == "USED"
        assert (await ok(http.get(f"/v1/bookings/{booking['id']}", headers=me)))["status"] == "USED"
        problem(
            await http.post(f"/v1/bookings/{booking['id']}/cancel", headers=me), 409, "ALREADY_USED"
        )

        export = await http.get("/v1/pro/bookings", headers=pro | {"Accept": "text/csv"})
        assert export.status_code == 200, export.text
        [row] = list(csv.DictReader(io.StringIO(export.text)))
        assert (row["countermark"], row["status"]) == (countermark, "USED")


async def test_a_cancellation_gives_the_seat_back(booking_stack, mailbox):
    booking_email = f"resa-{uuid.uuid4().hex[:8]}@champo.example.com"
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, booking_email)
        # In five days: cancellable by the young person for 48 hours.
        offer, stock = await publish_showtime(http, pro, venue, "Le Mépris", 5 * 24, quantity=3)
        young, me = await sign_up_young(http, admin)

        booking = await ok(
            http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=me),
            201,
        )
        assert await remaining_seats(http, offer["id"]) == 2
        counter = await http.get(f"/v1/pro/countermarks/{booking['countermark']}", headers=pro)
        assert "validatable_from" in problem(counter, 403, "BOOKING_NOT_YET_VALIDATABLE")

        cancelled = await ok(http.post(f"/v1/bookings/{booking['id']}/cancel", headers=me))
        assert cancelled["status"] == "CANCELLED"
        assert (await ok(http.get("/v1/me", headers=me)))["credit"]["remaining_cents"] == 30000

        # The catalog worker consumed booking.cancelled: the seat is back.
        async def seat_is_back() -> bool:
            return await remaining_seats(http, offer["id"]) == 3

        await eventually(seat_is_back)
        counter = await http.get(f"/v1/pro/countermarks/{booking['countermark']}", headers=pro)
        problem(counter, 410, "BOOKING_CANCELLED")
        # The venue hears of the booking and of its cancellation.
        emails = await eventually(
            lambda: len(mailbox.to(booking_email)) >= 2 and mailbox.to(booking_email)
        )
        # The worker handles events concurrently: the two emails may arrive in either order.
        news = [email for email in emails if booking["countermark"] in text(email)]
        cancellations = [email for email in emails if "annulée" in email["Subject"]]
        assert (len(news), len(cancellations)) == (1, 1)
        assert booking["countermark"] not in text(cancellations[0])
        # The young person's: the booking (cancellable then), its cancellation with the credit.
        emails = await eventually(
            lambda: len(mailbox.to(young["email"])) >= 2 and mailbox.to(young["email"])
        )
        by_kind = {email["Message-ID"].strip().split(".")[0]: email for email in emails}
        assert set(by_kind) == {"<confirmation", "<cancellation"}
        assert "Annulation : possible dans l'application jusqu'au" in text(by_kind["<confirmation"])
        assert "Crédit rendu : 7,00 €" in text(by_kind["<cancellation"])


async def test_a_moved_showtime_tells_the_young_person(booking_stack, mailbox):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, f"resa-{uuid.uuid4().hex[:8]}@example.com")
        _, stock = await publish_showtime(http, pro, venue, "Pierrot le fou", 5 * 24, quantity=3)
        young, me = await sign_up_young(http, admin)
        booking = await ok(
            http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=me),
            201,
        )
        new_start = in_hours(7 * 24 + 1)
        moved = await ok(
            http.patch(f"/v1/pro/stocks/{stock['id']}", json={"starts_at": new_start}, headers=pro)
        )
        assert moved["starts_at"] != stock["starts_at"]

        def moved_email():
            return [
                email
                for email in mailbox.to(young["email"])
                if email["Subject"].startswith("Nouvel horaire pour Pierrot le fou")
            ]

        [email] = await eventually(moved_email)
        local = datetime.fromisoformat(moved["starts_at"]).astimezone(PARIS)
        body = text(email)
        assert "Nouvel horaire : " in body
        assert f"à {local.hour}h{local.minute:02d}" in body
        assert f"Contremarque : {booking['countermark']} (inchangée)" in body
        # The new cancellation limit: 48h from the move, in Paris time.
        assert "Annulation : possible dans l'application jusqu'au" in body
