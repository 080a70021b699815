"""What the end-to-end tests share: talking to the gateway as its clients do, and a cinema, its
showtimes and young people made through it."""

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.support import pclib_fixtures as pclib_testing
from tests.support.booking_helpers import birth_date_for_age
from tests.support.catalog_helpers import new_siren, siret_of

PROBLEM = "application/problem+json"
WAIT_SECONDS = 20
PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ok(answer_coroutine, status: int = 200) -> dict:
    answer = await answer_coroutine
    assert answer.status_code == status, answer.text
    return answer.json()


def problem(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


async def eventually(check, within: float = WAIT_SECONDS):
    """The check's first truthy answer, polled until `within` seconds (processes take longer
    than in-process servers: a longer default)."""
    return await pclib_testing.eventually(check, within)


async def token(http: httpx.AsyncClient, path: str, email: str, password: str) -> dict:
    """Signs in at `path`: the headers of the answered bearer token."""
    answer = await ok(http.post(path, json={"email": email, "password": password}))
    assert answer["token_type"] == "bearer"
    return bearer(answer["access_token"])


# --- a cinema, its showtimes, young people ------------------------------------------------


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def publish_cinema(
    http: httpx.AsyncClient, admin: dict, booking_email: str, email: str = "", **venue_fields
):
    """A pro signs up (`email`, or a new one), the admin validates the offerer, the pro creates a
    venue (in Paris unless `venue_fields` say otherwise): (pro, venue)."""
    siren, email = new_siren(), email or f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com"
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
    validated = await ok(
        http.post(f"/v1/admin/offerers/{account['offerer']['id']}/validate", headers=admin)
    )
    assert validated["status"] == "VALIDATED"
    pro = await token(http, "/v1/pro/auth/token", email, PASSWORD)
    venue = await ok(
        http.post(
            "/v1/pro/venues",
            json={
                "offerer_id": account["offerer"]["id"],
                "name": "Le Champo",
                "siret": siret_of(siren),
                "address": "51 rue des Écoles",
                "postal_code": "75005",
                "city": "Paris",
                "latitude": 48.8503,
                "longitude": 2.3433,
                "booking_email": booking_email,
            }
            | venue_fields,
            headers=pro,
        ),
        201,
    )
    return pro, venue


async def publish_showtime(http, pro, venue, title: str, starts_in_hours: float, quantity: int):
    offer = await ok(
        http.post(f"/v1/pro/venues/{venue['id']}/offers", json={"title": title}, headers=pro),
        201,
    )
    stock = await ok(
        http.post(
            f"/v1/pro/offers/{offer['id']}/stocks",
            json={
                "starts_at": in_hours(starts_in_hours),
                "price_cents": 700,
                "quantity": quantity,
                "features": ["VF"],
            },
            headers=pro,
        ),
        201,
    )
    return offer, stock


async def sign_up_young(http: httpx.AsyncClient, admin: dict) -> tuple[dict, dict]:
    """A young person signs up, the admin grants the credit, they log in: (person, headers)."""
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
                "phone_number": "+33612345678",
            },
        ),
        201,
    )
    credit = await ok(
        http.post(f"/v1/admin/beneficiaries/{young['id']}/credit", headers=admin), 201
    )
    assert (credit["initial_cents"], credit["remaining_cents"]) == (30000, 30000)
    return young, await token(http, "/v1/auth/token", email, PASSWORD)


async def until_started(stock: dict) -> None:
    starts_at = datetime.fromisoformat(stock["starts_at"])
    await asyncio.sleep(max((starts_at - datetime.now(UTC)).total_seconds(), 0) + 1)


async def pay(http: httpx.AsyncClient, admin: dict) -> dict:
    """An admin's batch that pays something, cut off now. The payments worker learns of the use
    from booking.used: until it has, a batch pays nothing and the next one (later cutoff) tries
    again."""

    async def batch() -> dict | None:
        cutoff = datetime.now(UTC).isoformat()
        path = "/v1/admin/payment-batches"
        made = await ok(http.post(path, json={"cutoff": cutoff}, headers=admin), 201)
        return made if made["payment_count"] else None

    return await eventually(batch)


async def sign_up_pro(http: httpx.AsyncClient) -> dict:
    """A new pro account (its offerer PENDING), with the password PASSWORD."""
    body = {
        "email": f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com",
        "password": PASSWORD,
        "first_name": "Paula",
        "last_name": "Pro",
        "offerer": {"siren": new_siren(), "name": "Cinéma du Panthéon"},
    }
    return await ok(http.post("/v1/pro/accounts", json=body), 201)


INVITATION_LINK = re.compile(r"/v1/pro/invitations/([\w-]+)/accept")


async def invite(http: httpx.AsyncClient, pro: dict, offerer_id: str, email: str, mailbox) -> str:
    """Invites `email` to the offerer; the token of the link the invitation email carries."""
    path = f"/v1/pro/offerers/{offerer_id}/invitations"
    await ok(http.post(path, json={"email": email}, headers=pro), 201)
    [message] = await eventually(lambda: mailbox.to(email))
    (link_token,) = INVITATION_LINK.findall(message.get_content())
    return link_token
