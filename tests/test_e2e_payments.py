"""End to end over HTTP: a cinema is paid for a used booking. The pro gives the venue's bank
account, a young person books a showtime about to start, the counter validates the countermark,
the showtime starts, an admin runs a payment batch: the pro sees the payment and its line, the
booking becomes REIMBURSED (payments relay → RabbitMQ → booking worker), the SEPA file carries
the amount, and the counter can no longer unuse the booking.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_helpers import eventually, ok, pay, problem, token, until_started
from lxml import etree

from tests.support.booking_helpers import birth_date_for_age
from tests.support.catalog_helpers import new_siren, siret_of

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# Enough to publish, book and validate the showtime before it starts: the batch pays only
# bookings whose showtime has started, and the catalog takes no showtime in the past.
SHOWTIME_IN_SECONDS = 15
IBAN = "FR76 3000 6000 0112 3456 7890 189"
PAIN_001 = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"


async def open_cinema(http: httpx.AsyncClient, admin: dict) -> tuple[dict, dict, dict]:
    """A pro signs up, the admin validates the offerer, the pro creates a venue and gives its
    bank account: (pro headers, offerer, venue)."""
    siren, email = new_siren(), f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com"
    account = await ok(
        http.post(
            "/v1/pro/accounts",
            json={
                "email": email,
                "password": PASSWORD,
                "first_name": "Paula",
                "last_name": "Pro",
                "offerer": {"siren": siren, "name": "Cinéma du Panthéon"},
            },
        ),
        201,
    )
    offerer = account["offerer"]
    await ok(http.post(f"/v1/admin/offerers/{offerer['id']}/validate", headers=admin))
    pro = await token(http, "/v1/pro/auth/token", email, PASSWORD)
    venue = await ok(
        http.post(
            "/v1/pro/venues",
            json={
                "offerer_id": offerer["id"],
                "name": "Le Champo",
                "siret": siret_of(siren),
                "address": "51 rue des Écoles",
                "postal_code": "75005",
                "city": "Paris",
                "latitude": 48.8503,
                "longitude": 2.3433,
                "booking_email": f"resa-{uuid.uuid4().hex[:8]}@champo.example.com",
            },
            headers=pro,
        ),
        201,
    )
    account = await ok(
        http.put(
            f"/v1/pro/venues/{venue['id']}/bank-account",
            json={"iban": IBAN, "bic": "AGRIFRPP", "holder_name": "Cinéma du Panthéon"},
            headers=pro,
        )
    )
    assert (account["status"], account["bic"]) == ("ACCEPTED", "AGRIFRPPXXX")
    assert account["iban_masked"].startswith("FR76") and "3000" not in account["iban_masked"]
    return pro, offerer, venue


async def young_person(http: httpx.AsyncClient, admin: dict) -> dict:
    """A young person signs up, the admin grants the credit, they log in: their headers."""
    email = f"young-{uuid.uuid4().hex[:8]}@example.com"
    young = await ok(
        http.post(
            "/v1/beneficiaries",
            json={
                "email": email,
                "password": PASSWORD,
                "first_name": "Camille",
                "last_name": "Jeune",
                "birth_date": birth_date_for_age(18).isoformat(),
            },
        ),
        201,
    )
    await ok(http.post(f"/v1/admin/beneficiaries/{young['id']}/credit", headers=admin), 201)
    return await token(http, "/v1/auth/token", email, PASSWORD)


async def showtime_about_to_start(http: httpx.AsyncClient, pro: dict, venue: dict) -> dict:
    offer = await ok(
        http.post(f"/v1/pro/venues/{venue['id']}/offers", json={"title": "Jeanne"}, headers=pro),
        201,
    )
    starts_at = datetime.now(UTC) + timedelta(seconds=SHOWTIME_IN_SECONDS)
    return await ok(
        http.post(
            f"/v1/pro/offers/{offer['id']}/stocks",
            json={"starts_at": starts_at.isoformat(), "price_cents": 700, "quantity": 5},
            headers=pro,
        ),
        201,
    )


def sepa_amounts(xml: bytes) -> list[str]:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{PAIN_001}Document"
    return [amount.text for amount in root.iter(f"{PAIN_001}InstdAmt")]


async def test_a_used_booking_is_paid_to_the_cinema_and_marked_reimbursed(booking_stack):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, offerer, venue = await open_cinema(http, admin)
        me = await young_person(http, admin)
        stock = await showtime_about_to_start(http, pro, venue)
        booking = await ok(
            http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=me),
            201,
        )
        counter = f"/v1/pro/countermarks/{booking['countermark']}"
        assert (await ok(http.post(f"{counter}/use", headers=pro)))["status"] == "USED"
        await until_started(stock)

        batch = await pay(http, admin)
        assert (batch["payment_count"], batch["booking_count"], batch["total_cents"]) == (1, 1, 700)

        payments = await ok(
            http.get("/v1/pro/payments", params={"offerer_id": offerer["id"]}, headers=pro)
        )
        [payment] = payments["items"]
        assert (payment["batch_id"], payment["venue_id"]) == (batch["id"], venue["id"])
        assert (payment["amount_cents"], payment["booking_count"]) == (700, 1)
        assert payment["invoice_reference"].startswith("F")
        detail = await ok(http.get(f"/v1/pro/payments/{payment['id']}", headers=pro))
        [line] = detail["lines"]
        assert line == line | {
            "booking_id": booking["id"],
            "total_cents": 700,
            "rate": 1.0,
            "reimbursed_cents": 700,
        }

        async def reimbursed() -> bool:
            mine = await ok(http.get(f"/v1/bookings/{booking['id']}", headers=me))
            return mine["status"] == "REIMBURSED"

        await eventually(reimbursed)

        made = await ok(http.get(f"/v1/admin/payment-batches/{batch['id']}", headers=admin))
        assert [p["id"] for p in made["payments"]] == [payment["id"]]
        sepa = await http.get(f"/v1/admin/payment-batches/{batch['id']}/sepa.xml", headers=admin)
        assert sepa.status_code == 200, sepa.text
        assert sepa.headers["content-type"] == "application/xml"
        assert ".xml" in sepa.headers["content-disposition"]
        assert sepa_amounts(sepa.content) == ["7.00"]

        problem(await http.post(f"{counter}/unuse", headers=pro), 403, "BOOKING_REIMBURSED")
