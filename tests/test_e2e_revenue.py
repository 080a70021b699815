"""End to end over HTTP: a cinema's revenue follows its bookings through every process. A young
person books (booking.created reaches payments: booked), the counter validates (booking.used:
validated, still to be paid), the showtime starts and an admin's batch pays it: reimbursed is
what the batch paid, nothing is left to pay; the CSV says the same.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_helpers import (
    eventually,
    ok,
    pay,
    problem,
    publish_cinema,
    sign_up_young,
    token,
    until_started,
)

pytestmark = pytest.mark.e2e

IBAN = "FR76 3000 6000 0112 3456 7890 189"
SHOWTIME_IN_SECONDS = 15


def figures(venue: dict) -> tuple[int, int, int, int]:
    return (
        venue["booked_cents"],
        venue["validated_cents"],
        venue["reimbursed_cents"],
        venue["to_be_paid_cents"],
    )


async def test_the_revenue_follows_a_booking_until_it_is_paid(booking_stack):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, "resa@revenus.example.com")
        offerer_id = venue["offerer_id"]
        await ok(
            http.put(
                f"/v1/pro/venues/{venue['id']}/bank-account",
                json={"iban": IBAN, "bic": "AGRIFRPP", "holder_name": "Cinéma du Panthéon"},
                headers=pro,
            )
        )
        offer = await ok(
            http.post(
                f"/v1/pro/venues/{venue['id']}/offers", json={"title": "Jeanne"}, headers=pro
            ),
            201,
        )
        starts_at = datetime.now(UTC) + timedelta(seconds=SHOWTIME_IN_SECONDS)
        stock = await ok(
            http.post(
                f"/v1/pro/offers/{offer['id']}/stocks",
                json={"starts_at": starts_at.isoformat(), "price_cents": 700, "quantity": 5},
                headers=pro,
            ),
            201,
        )
        _, young = await sign_up_young(http, admin)
        booking = await ok(
            http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=young),
            201,
        )
        path = f"/v1/pro/revenue?offerer_id={offerer_id}"

        async def venue_figures(expected: tuple[int, int, int, int]) -> dict | None:
            report = await ok(http.get(path, headers=pro))
            [row] = report["venues"]
            return report if figures(row) == expected else None

        await eventually(lambda: venue_figures((700, 0, 0, 0)))
        await ok(http.post(f"/v1/pro/countermarks/{booking['countermark']}/use", headers=pro))
        used = await eventually(lambda: venue_figures((0, 700, 0, 700)))
        assert used["venues"][0]["rate"]["rate_bps"] == 10_000
        assert used["year"] == starts_at.year

        await until_started(stock)
        batch = await pay(http, admin)
        report = await ok(http.get(path, headers=pro))
        assert figures(report["venues"][0]) == (0, 700, batch["total_cents"], 0)
        assert report["totals"]["reimbursed_cents"] == batch["total_cents"] == 700

        exported = await http.get(path, headers=pro | {"Accept": "text/csv"})
        assert exported.status_code == 200, exported.text
        row, total = list(csv.DictReader(io.StringIO(exported.text)))
        assert (row["venue_id"], row["reimbursed_cents"], total["venue_id"]) == (
            venue["id"],
            "700",
            "TOTAL",
        )
        problem(await http.get(path, headers=young), 403, "FORBIDDEN")
