"""End to end over HTTP: a cinema's pro creates a provider API key; with it a ticketing system
lists the offerer's bookings by showtime and validates countermarks (catalog: the key → its
offerer; booking: the counter scoped to it), never another offerer's; revoked, the key fails at
its very next request.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import httpx
import pytest
from e2e_helpers import bearer, ok, problem, publish_cinema, publish_showtime, sign_up_young, token

pytestmark = pytest.mark.e2e


async def test_a_provider_key_works_the_counter_of_its_offerer_only(booking_stack):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, "resa@lumiere.example.com")
        other, other_venue = await publish_cinema(http, admin, "resa@autre.example.com")
        offerer_id = venue["offerer_id"]
        _, stock = await publish_showtime(http, pro, venue, "Les Enfants du paradis", 2, 10)
        _, second_stock = await publish_showtime(http, pro, venue, "Quai des brumes", 3, 10)
        _, foreign_stock = await publish_showtime(http, other, other_venue, "Le Jour se lève", 2, 5)
        _, young = await sign_up_young(http, admin)
        booked = await ok(
            http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=young),
            201,
        )
        await ok(
            http.post(
                "/v1/bookings", json={"stock_id": second_stock["id"], "quantity": 1}, headers=young
            ),
            201,
        )
        foreign = await ok(
            http.post(
                "/v1/bookings", json={"stock_id": foreign_stock["id"], "quantity": 1}, headers=young
            ),
            201,
        )

        keys = f"/v1/pro/offerers/{offerer_id}/api-keys"
        created = await ok(http.post(keys, json={"name": "Caisse CDS"}, headers=pro), 201)
        assert created["key"].startswith(created["prefix"]) and created["prefix"].startswith("pk_")
        provider = bearer(created["key"])
        listed = await ok(http.get(keys, headers=pro))
        assert [(k["id"], k["last_used_at"]) for k in listed["items"]] == [(created["id"], None)]
        assert "key" not in listed["items"][0]
        problem(await http.get(keys, headers=other), 404, "OFFERER_NOT_FOUND")

        # The offerer's bookings, by showtime.
        page = await ok(http.get(f"/v1/provider/bookings?stock_id={stock['id']}", headers=provider))
        assert [b["booking_id"] for b in page["items"]] == [booked["id"]]
        everything = await ok(http.get("/v1/provider/bookings", headers=provider))
        assert len(everything["items"]) == 2
        assert foreign["id"] not in {b["booking_id"] for b in everything["items"]}

        # The counter.
        countermark = f"/v1/provider/countermarks/{booked['countermark']}"
        await ok(http.get(countermark, headers=provider))
        assert (await ok(http.post(f"{countermark}/use", headers=provider)))["status"] == "USED"
        assert (await ok(http.post(f"{countermark}/unuse", headers=provider)))[
            "status"
        ] == "CONFIRMED"
        foreign_mark = f"/v1/provider/countermarks/{foreign['countermark']}"
        problem(
            await http.post(f"{foreign_mark}/use", headers=provider), 404, "COUNTERMARK_NOT_FOUND"
        )
        used = (await ok(http.get(keys, headers=pro)))["items"][0]
        assert used["last_used_at"] is not None

        # A key is no access token, and an access token is no key.
        problem(await http.get("/v1/pro/bookings", headers=provider), 401, "INVALID_TOKEN")
        problem(await http.get("/v1/provider/bookings", headers=pro), 401, "UNAUTHENTICATED")
        problem(
            await http.get("/v1/provider/bookings", headers=bearer("pk_" + "x" * 43)),
            401,
            "INVALID_API_KEY",
        )

        # Revoked: the very next request fails.
        revoked = await http.delete(f"{keys}/{created['id']}", headers=pro)
        assert revoked.status_code == 204, revoked.text
        problem(await http.get(countermark, headers=provider), 401, "INVALID_API_KEY")
        assert (await ok(http.get(keys, headers=pro)))["items"] == []
