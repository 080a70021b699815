"""End to end over HTTP: a cinema's pro invites a colleague, who gets the email (catalog relay →
RabbitMQ → catalog worker → SMTP), accepts with a new account and has the offerer's rights in
every service: its venue (catalog), the counter (booking), the bank account, payments and
revenue (payments). Removed, the colleague loses them all on the very next request, with the same
access token, the counter included.

Every process of `make run` runs for real (see conftest.booking_stack).
"""

import uuid

import httpx
import pytest
from e2e_helpers import (
    INVITATION_LINK,
    PASSWORD,
    eventually,
    ok,
    problem,
    publish_cinema,
    publish_showtime,
    sign_up_young,
    token,
)

pytestmark = pytest.mark.e2e

IBAN = "FR76 3000 6000 0112 3456 7890 189"


async def test_a_colleague_joins_works_the_counter_and_is_removed_at_once(booking_stack, mailbox):
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await token(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, "resa@lumiere.example.com")
        offerer_id = venue["offerer_id"]
        await ok(
            http.put(
                f"/v1/pro/venues/{venue['id']}/bank-account",
                json={"iban": IBAN, "bic": "AGRIFRPP", "holder_name": "Cinéma Lumière"},
                headers=pro,
            )
        )
        _, stock = await publish_showtime(http, pro, venue, "Les Enfants du paradis", 2, 10)
        _, young = await sign_up_young(http, admin)
        bookings = [
            await ok(
                http.post(
                    "/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=me
                ),
                201,
            )
            for me in (young, (await sign_up_young(http, admin))[1])
        ]

        # The invitation, by email.
        email = f"colette-{uuid.uuid4().hex[:8]}@lumiere.example.com"
        invitation = await ok(
            http.post(
                f"/v1/pro/offerers/{offerer_id}/invitations", json={"email": email}, headers=pro
            ),
            201,
        )
        [message] = await eventually(lambda: mailbox.to(email))
        assert "Cinéma du Panthéon" in message["Subject"]
        (link_token,) = INVITATION_LINK.findall(message.get_content())
        accept = f"/v1/pro/invitations/{link_token}/accept"
        joined = await ok(
            http.post(
                accept,
                json={"password": PASSWORD, "first_name": "Colette", "last_name": "Collègue"},
            )
        )
        assert (joined["offerer"]["id"], joined["created_account"]) == (offerer_id, True)
        problem(await http.post(accept, json={"password": PASSWORD}), 410, "INVITATION_USED")
        assert invitation["email"] == email
        colleague = await token(http, "/v1/pro/auth/token", email, PASSWORD)

        # The offerer's rights everywhere.
        await ok(http.get(f"/v1/pro/venues/{venue['id']}", headers=colleague))
        await ok(http.get(f"/v1/pro/venues/{venue['id']}/bank-account", headers=colleague))
        await ok(http.get(f"/v1/pro/payments?offerer_id={offerer_id}", headers=colleague))
        revenue = await ok(http.get(f"/v1/pro/revenue?offerer_id={offerer_id}", headers=colleague))
        assert [row["venue_id"] for row in revenue["venues"]] == [venue["id"]]
        first = f"/v1/pro/countermarks/{bookings[0]['countermark']}"
        assert (await ok(http.post(f"{first}/use", headers=colleague)))["status"] == "USED"
        second = f"/v1/pro/countermarks/{bookings[1]['countermark']}"
        await ok(http.get(second, headers=colleague))
        members = await ok(http.get(f"/v1/pro/offerers/{offerer_id}/members", headers=colleague))
        assert [m["email"] for m in members["items"]][1:] == [email]

        # Removed: the very next request with the same access token reaches nothing.
        removed = await http.delete(
            f"/v1/pro/offerers/{offerer_id}/members/{joined['user']['id']}", headers=pro
        )
        assert removed.status_code == 204, removed.text
        problem(await http.get(second, headers=colleague), 404, "COUNTERMARK_NOT_FOUND")
        problem(await http.post(f"{second}/use", headers=colleague), 404, "COUNTERMARK_NOT_FOUND")
        problem(
            await http.get(f"/v1/pro/venues/{venue['id']}", headers=colleague),
            404,
            "VENUE_NOT_FOUND",
        )
        problem(
            await http.get(f"/v1/pro/venues/{venue['id']}/bank-account", headers=colleague),
            404,
            "VENUE_NOT_FOUND",
        )
        problem(
            await http.get(f"/v1/pro/payments?offerer_id={offerer_id}", headers=colleague),
            404,
            "OFFERER_NOT_FOUND",
        )
        problem(
            await http.get(f"/v1/pro/revenue?offerer_id={offerer_id}", headers=colleague),
            404,
            "OFFERER_NOT_FOUND",
        )
        assert (await ok(http.get("/v1/pro/offerers", headers=colleague)))["items"] == []
        # The pro still has it all: the second booking is still there to validate.
        assert (await ok(http.post(f"{second}/use", headers=pro)))["status"] == "USED"
