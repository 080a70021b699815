"""End to end over HTTP: a cinema's tariffs (price categories). The pro makes "Tarif normal"
and "Tarif réduit", a showtime per tariff; search and the offer page show them; a young person
books the cheaper one and the booking keeps its tariff and price when the pro changes it; a
tariff with bookings cannot be deleted.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import uuid

import httpx
import pytest
from e2e_helpers import in_hours, ok, problem, publish_cinema, publish_showtime, sign_up_young
from e2e_helpers import token as sign_in

pytestmark = pytest.mark.e2e


async def test_a_pro_s_tariffs_from_creation_to_a_booking_that_keeps_its_price(booking_stack):
    title = f"Jour de fête {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await sign_in(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, "resa@champo.example.com")
        offer = await ok(
            http.post(f"/v1/pro/venues/{venue['id']}/offers", json={"title": title}, headers=pro),
            201,
        )
        tariffs = f"/v1/pro/offers/{offer['id']}/price-categories"
        normal = await ok(
            http.post(tariffs, json={"label": "Tarif normal", "price_cents": 750}, headers=pro),
            201,
        )
        reduced = await ok(
            http.post(tariffs, json={"label": "Tarif réduit", "price_cents": 500}, headers=pro),
            201,
        )
        assert (reduced["offer_id"], reduced["label"], reduced["price_cents"]) == (
            offer["id"],
            "Tarif réduit",
            500,
        )
        listed = await ok(http.get(tariffs, headers=pro))
        assert [(c["label"], c["price_cents"]) for c in listed["items"]] == [
            ("Tarif réduit", 500),
            ("Tarif normal", 750),
        ]
        taken = await http.post(
            tariffs, json={"label": "Tarif normal", "price_cents": 1}, headers=pro
        )
        problem(taken, 409, "PRICE_CATEGORY_LABEL_TAKEN")
        too_long = await http.post(tariffs, json={"label": "x" * 51, "price_cents": 1}, headers=pro)
        problem(too_long, 422, "INVALID_PRICE_CATEGORY_LABEL")

        # A showtime per tariff, each with its own seats.
        stocks = f"/v1/pro/offers/{offer['id']}/stocks"
        showtime = {"starts_at": in_hours(72), "quantity": 20}
        full_price = await ok(
            http.post(stocks, json=showtime | {"price_category_id": normal["id"]}, headers=pro),
            201,
        )
        cheaper = await ok(
            http.post(stocks, json=showtime | {"price_category_id": reduced["id"]}, headers=pro),
            201,
        )
        assert (full_price["price_category_label"], full_price["price_cents"]) == (
            "Tarif normal",
            750,
        )
        assert (cheaper["price_category_id"], cheaper["price_cents"]) == (reduced["id"], 500)
        problem(await http.post(stocks, json=showtime, headers=pro), 422, "PRICE_REQUIRED")

        # Search and the offer page show the tariffs.
        found = await ok(
            http.get(
                "/v1/offers",
                params={"latitude": 48.8503, "longitude": 2.3433, "radius_km": 1, "q": title},
            )
        )
        [summary] = found["items"]
        assert summary["min_price_cents"] == 500
        assert summary["prices"] == [
            {"label": "Tarif réduit", "price_cents": 500},
            {"label": "Tarif normal", "price_cents": 750},
        ]
        page = await ok(http.get(f"/v1/offers/{offer['id']}"))
        assert sorted((s["price_category_label"], s["price_cents"]) for s in page["stocks"]) == [
            ("Tarif normal", 750),
            ("Tarif réduit", 500),
        ]

        # A young person books the cheaper one: the booking shows its tariff and price.
        _, me = await sign_up_young(http, admin)
        booking = await ok(
            http.post(
                "/v1/bookings",
                json={"stock_id": cheaper["id"], "quantity": 1},
                headers=me | {"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        assert (booking["price_category_label"], booking["amount_cents"]) == ("Tarif réduit", 500)
        assert (await ok(http.get("/v1/me", headers=me)))["credit"]["remaining_cents"] == 29_500

        # A new price is for new bookings only.
        changed = await ok(
            http.patch(
                f"/v1/pro/price-categories/{reduced['id']}",
                json={"price_cents": 550},
                headers=pro,
            )
        )
        assert (changed["label"], changed["price_cents"]) == ("Tarif réduit", 550)
        kept = await ok(http.get(f"/v1/bookings/{booking['id']}", headers=me))
        assert (kept["price_category_label"], kept["amount_cents"], kept["total_cents"]) == (
            "Tarif réduit",
            500,
            500,
        )
        repriced = await ok(http.get(f"/v1/offers/{offer['id']}"))
        assert 550 in [s["price_cents"] for s in repriced["stocks"]]
        _, other = await sign_up_young(http, admin)
        later = await ok(
            http.post(
                "/v1/bookings",
                json={"stock_id": cheaper["id"], "quantity": 1},
                headers=other | {"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        assert (later["price_category_label"], later["amount_cents"]) == ("Tarif réduit", 550)

        # A tariff with bookings cannot be deleted; one without goes, with its showtimes.
        in_use = await http.delete(f"/v1/pro/price-categories/{reduced['id']}", headers=pro)
        problem(in_use, 409, "PRICE_CATEGORY_IN_USE")
        gone = await http.delete(f"/v1/pro/price-categories/{normal['id']}", headers=pro)
        assert gone.status_code == 204, gone.text
        left = await ok(http.get(stocks, headers=pro))
        assert [s["id"] for s in left["items"]] == [cheaper["id"]]
        problem(
            await http.delete(f"/v1/pro/price-categories/{normal['id']}", headers=pro),
            404,
            "PRICE_CATEGORY_NOT_FOUND",
        )

        # A bare price still works: the first one makes the film's "Tarif unique".
        _, plain = await publish_showtime(http, pro, venue, f"{title} bis", 48, quantity=5)
        assert (plain["price_category_label"], plain["price_cents"]) == ("Tarif unique", 700)
