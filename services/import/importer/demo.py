"""`make demo`: against a running suite (`make run`), a demo cinema whose programme is imported
from the fake Allociné, so that /v1/offers shows real offers, and a demo young person's booking
of a showtime later today, to validate at the counter page (/desk). Everything goes through the
gateway's HTTP API, as a pro, an admin and a young person would. Running it again reuses the
same cinema, and the booking while it can still be validated.

Environment: GATEWAY_URL (default http://127.0.0.1:8080), ADMIN_EMAIL and ADMIN_PASSWORD
(the admin `make run` creates).
"""

import argparse
import asyncio
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from importer.domain.status import SyncStatus

DEMO_EMAIL = "demo-cinema@passculture.example.com"
DEMO_PASSWORD = "demo cinema password"  # noqa: S105 (a public demo account)
DEMO_SIREN = "901590018"
DEMO_SIRET = "90159001800015"
# Le Grand Rex, Paris: what a newcomer's search near Paris finds.
LATITUDE, LONGITUDE = 48.8705, 2.3477
SYNC_WAIT_SECONDS = 60.0

DEMO_YOUNG_EMAIL = "demo-jeune@passculture.example.com"
DEMO_YOUNG_PASSWORD = "demo young password"  # noqa: S105 (a public demo account)
DEMO_TITLE = "Le Guichet (séance de démonstration)"
# Today's showtime: offline, the page takes only today's tickets.
STARTS_IN = timedelta(hours=2)


class DemoError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--theater", default="P0591", help="the fake Allociné's demo theater")
    parser.add_argument("--price-cents", type=int, default=690)


def _check(response: httpx.Response, *expected: int) -> dict[str, Any]:
    if response.status_code not in expected:
        raise DemoError(
            f"{response.request.method} {response.request.url.path}:"
            f" HTTP {response.status_code} {response.text[:500]}"
        )
    return response.json() if response.content else {}


async def _token(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    body = _check(
        await http.post("/v1/pro/auth/token", json={"email": email, "password": password}), 200
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


async def _demo_pro(http: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """The demo pro's auth headers and offerer id (created the first time)."""
    await http.post(
        "/v1/pro/accounts",
        json={
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "first_name": "Camille",
            "last_name": "Projectionniste",
            "offerer": {"siren": DEMO_SIREN, "name": "Cinéma de démonstration"},
        },
    )
    pro = await _token(http, DEMO_EMAIL, DEMO_PASSWORD)
    offerers = _check(await http.get("/v1/pro/offerers", headers=pro), 200)["items"]
    offerer = next((o for o in offerers if o["siren"] == DEMO_SIREN), None)
    if offerer is None:
        raise DemoError(f"the demo account does not hold the offerer {DEMO_SIREN}")
    return pro, offerer["id"]


async def _validate(http: httpx.AsyncClient, offerer_id: str) -> dict[str, str]:
    """Validates the offerer as the admin: the admin's auth headers."""
    email, password = os.environ.get("ADMIN_EMAIL"), os.environ.get("ADMIN_PASSWORD")
    if not (email and password):
        raise DemoError("ADMIN_EMAIL and ADMIN_PASSWORD must name the suite's admin")
    admin = await _token(http, email, password)
    _check(await http.post(f"/v1/admin/offerers/{offerer_id}/validate", headers=admin), 200)
    return admin


async def _venue(http: httpx.AsyncClient, pro: dict[str, str], offerer_id: str) -> str:
    venues = _check(await http.get("/v1/pro/venues", headers=pro), 200)["items"]
    existing = next((v for v in venues if v["siret"] == DEMO_SIRET), None)
    if existing:
        existing_id: str = existing["id"]
        return existing_id
    created = await http.post(
        "/v1/pro/venues",
        headers=pro,
        json={
            "offerer_id": offerer_id,
            "name": "Le Grand Rex (démo)",
            "siret": DEMO_SIRET,
            "address": "1 boulevard Poissonnière",
            "postal_code": "75002",
            "city": "Paris",
            "latitude": LATITUDE,
            "longitude": LONGITUDE,
            "booking_email": "reservations@demo-cinema.example.com",
        },
    )
    created_id: str = _check(created, 201)["id"]
    return created_id


async def _sync(http: httpx.AsyncClient, pro: dict[str, str], venue_id: str) -> dict[str, Any]:
    started = _check(await http.post(f"/v1/pro/venues/{venue_id}/allocine/syncs", headers=pro), 202)
    deadline = time.monotonic() + SYNC_WAIT_SECONDS
    while time.monotonic() < deadline:
        syncs = _check(
            await http.get(f"/v1/pro/venues/{venue_id}/allocine/syncs", headers=pro), 200
        )
        sync: dict[str, Any] = next(s for s in syncs["items"] if s["id"] == started["id"])
        if sync["status"] in (SyncStatus.SUCCEEDED, SyncStatus.FAILED):
            return sync
        await asyncio.sleep(0.5)
    raise DemoError(f"the sync {started['id']} did not end within {SYNC_WAIT_SECONDS:.0f} s")


def _birth_date(today: date) -> str:
    """18 years old since a month: eligible to the credit."""
    month_ago = today - timedelta(days=30)
    return month_ago.replace(year=month_ago.year - 18, day=min(month_ago.day, 28)).isoformat()


async def _young(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """The demo young person's auth headers (signed up, and granted the credit, the first time)."""
    signed_up = await http.post(
        "/v1/beneficiaries",
        json={
            "email": DEMO_YOUNG_EMAIL,
            "password": DEMO_YOUNG_PASSWORD,
            "first_name": "Camille",
            "last_name": "Jeune",
            "birth_date": _birth_date(datetime.now(UTC).date()),
            "phone_number": "+33612345678",
            "postal_code": "75002",
        },
    )
    if signed_up.status_code == 201:
        path = f"/v1/admin/beneficiaries/{signed_up.json()['id']}/credit"
        _check(await http.post(path, headers=admin), 201)
    else:
        _check(signed_up, 409)  # EMAIL_TAKEN: made by an earlier run
    body = {"email": DEMO_YOUNG_EMAIL, "password": DEMO_YOUNG_PASSWORD}
    token = _check(await http.post("/v1/auth/token", json=body), 200)["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def booking_to_validate(
    http: httpx.AsyncClient, pro: dict[str, str], admin: dict[str, str], venue_id: str
) -> dict[str, Any]:
    """A CONFIRMED booking of the demo cinema starting later today."""
    young = await _young(http, admin)
    now = datetime.now(UTC)
    mine: list[dict[str, Any]] = _check(await http.get("/v1/bookings", headers=young), 200)["items"]
    for booking in mine:
        starts_at = datetime.fromisoformat(booking["starts_at"])
        if booking["status"] == "CONFIRMED" and now < starts_at < now + STARTS_IN:
            return booking
    offer = _check(
        await http.post(
            f"/v1/pro/venues/{venue_id}/offers", headers=pro, json={"title": DEMO_TITLE}
        ),
        201,
    )
    stock = _check(
        await http.post(
            f"/v1/pro/offers/{offer['id']}/stocks",
            headers=pro,
            json={"starts_at": (now + STARTS_IN).isoformat(), "price_cents": 690, "quantity": 50},
        ),
        201,
    )
    body = {"stock_id": stock["id"], "quantity": 1}
    booked: dict[str, Any] = _check(await http.post("/v1/bookings", headers=young, json=body), 201)
    return booked


async def run(args: argparse.Namespace) -> int:
    async with httpx.AsyncClient(base_url=args.gateway, timeout=30) as http:
        try:
            pro, offerer_id = await _demo_pro(http)
            admin = await _validate(http, offerer_id)
            venue_id = await _venue(http, pro, offerer_id)
            settings = {"theater_id": args.theater, "price_cents": args.price_cents}
            _check(
                await http.put(f"/v1/pro/venues/{venue_id}/allocine", headers=pro, json=settings),
                200,
            )
            sync = await _sync(http, pro, venue_id)
            offers = _check(
                await http.get("/v1/offers", params={"latitude": LATITUDE, "longitude": LONGITUDE}),
                200,
            )["items"]
            booking = await booking_to_validate(http, pro, admin, venue_id)
        except (DemoError, httpx.HTTPError) as error:
            print(f"demo failed: {error}")
            return 1
    _print(venue_id, sync, offers)
    _print_counter(args.gateway, booking)
    return 0 if sync["status"] == SyncStatus.SUCCEEDED else 1


def _print(venue_id: str, sync: dict, offers: list[dict]) -> None:
    print(f"demo cinema {venue_id}: sync {sync['status']} {sync.get('error') or ''}".rstrip())
    counters = ("offers_created", "offers_updated", "stocks_created", "stocks_updated")
    print("  " + ", ".join(f"{name} {sync[name]}" for name in counters))
    print(f"  showtimes_skipped {sync['showtimes_skipped']}")
    print(f"{len(offers)} offers near the demo cinema (GET /v1/offers):")
    for offer in offers[:10]:
        print(f"  {offer['title']} — {offer['venue']['name']}, next {offer['next_starts_at']}")
    print(f"login as {DEMO_EMAIL} / {DEMO_PASSWORD} to see the pro side.")


def _print_counter(gateway: str, booking: dict[str, Any]) -> None:
    print(f"a booking to validate at the counter: {booking['offer_title']}, {booking['starts_at']}")
    print(f"  countermark {booking['countermark']}; its QR code encodes:")
    print(f"  {booking['signed_qr_payload']}")
    print(f"open {gateway}/desk/ and sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
