"""End to end over HTTP: the gateway and the catalog as real processes (see conftest.stack)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_helpers import PASSWORD, problem, sign_up_pro

from tests.support.catalog_helpers import new_siren, siret_of

pytestmark = pytest.mark.e2e

PARIS = (48.8606, 2.3376)
NEAR_PARIS = (48.8566, 2.3522)
TOULOUSE = (43.6047, 1.4442)  # ~590 km from Paris


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def sign_up(http: httpx.AsyncClient) -> tuple[dict, dict[str, str], str]:
    """A new pro account: (account, auth headers, SIREN)."""
    account = await sign_up_pro(http)
    headers = await log_in(http, account["user"]["email"], PASSWORD)
    return account, headers, account["offerer"]["siren"]


async def log_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    answer = await http.post("/v1/pro/auth/token", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "bearer"
    return {"Authorization": f"Bearer {token['access_token']}"}


def venue_body(offerer_id: str, siren: str, **fields) -> dict:
    return {
        "offerer_id": offerer_id,
        "name": "Le Champo",
        "siret": siret_of(siren),
        "address": "51 rue des Écoles",
        "postal_code": "75005",
        "city": "Paris",
        "latitude": PARIS[0],
        "longitude": PARIS[1],
        "booking_email": "resa@champo.example.com",
    } | fields


async def created(answer_coroutine) -> dict:
    answer = await answer_coroutine
    assert answer.status_code == 201, answer.text
    return answer.json()


async def search(http: httpx.AsyncClient, at, title: str, **params) -> list[dict]:
    answer = await http.get(
        "/v1/offers", params={"latitude": at[0], "longitude": at[1], "q": title} | params
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_pro_publishes_showtimes_that_young_people_find(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        account, pro, siren = await sign_up(http)
        offerer = account["offerer"]
        assert offerer["status"] == "PENDING"

        venue = await created(
            http.post("/v1/pro/venues", json=venue_body(offerer["id"], siren), headers=pro)
        )
        assert venue["timezone"] == "Europe/Paris"
        reunion = await created(
            http.post(
                "/v1/pro/venues",
                json=venue_body(
                    offerer["id"], siren, siret=siret_of(siren, 2), postal_code="97400"
                ),
                headers=pro,
            )
        )
        assert reunion["timezone"] == "Indian/Reunion"

        title = f"Jeanne Dielman {uuid.uuid4().hex[:6]}"
        offer = await created(
            http.post(
                f"/v1/pro/venues/{venue['id']}/offers",
                json={"title": title, "duration_minutes": 201, "is_duo": True},
                headers=pro,
            )
        )
        assert (offer["is_active"], offer["source"]) == (True, "MANUAL")
        stocks_path = f"/v1/pro/offers/{offer['id']}/stocks"
        late = await created(
            http.post(
                stocks_path,
                json={"starts_at": in_days(4), "price_cents": 900, "quantity": 2},
                headers=pro,
            )
        )
        early = await created(
            http.post(
                stocks_path,
                json={"starts_at": in_days(2), "price_cents": 1200, "features": ["VO"]},
                headers=pro,
            )
        )

        # Not searchable nor visible while the offerer waits for validation.
        assert await search(http, NEAR_PARIS, title) == []
        problem(await http.get(f"/v1/offers/{offer['id']}"), 404, "OFFER_NOT_FOUND")

        admin = await log_in(http, stack.admin["email"], stack.admin["password"])
        problem(
            await http.post(f"/v1/admin/offerers/{offerer['id']}/validate", headers=pro),
            403,
            "FORBIDDEN",
        )
        validated = await http.post(f"/v1/admin/offerers/{offerer['id']}/validate", headers=admin)
        assert validated.json()["status"] == "VALIDATED"
        offerers = await http.get("/v1/pro/offerers", headers=pro)
        assert [o["status"] for o in offerers.json()["items"]] == ["VALIDATED"]

        [found] = await search(http, NEAR_PARIS, title)
        assert found["id"] == offer["id"]
        assert found["venue"]["id"] == venue["id"]
        assert found["min_price_cents"] == 900
        assert found["next_starts_at"] == early["starts_at"]
        assert 0.5 < found["distance_km"] < 2
        assert await search(http, TOULOUSE, title) == []
        assert await search(http, TOULOUSE, title, radius_km=50) == []

        public = (await http.get(f"/v1/offers/{offer['id']}")).json()
        assert [s["id"] for s in public["stocks"]] == [early["id"], late["id"]]
        assert [s["is_bookable"] for s in public["stocks"]] == [True, True]
        assert [s["remaining_quantity"] for s in public["stocks"]] == [None, 2]
        assert public["stocks"][0]["features"] == ["VO"]

        _, intruder, _ = await sign_up(http)
        for answer, code in [
            (await http.get(f"/v1/pro/venues/{venue['id']}", headers=intruder), "VENUE_NOT_FOUND"),
            (await http.get(f"/v1/pro/offers/{offer['id']}", headers=intruder), "OFFER_NOT_FOUND"),
            (await http.get(stocks_path, headers=intruder), "OFFER_NOT_FOUND"),
            (
                await http.patch(
                    f"/v1/pro/stocks/{late['id']}", json={"price_cents": 1}, headers=intruder
                ),
                "STOCK_NOT_FOUND",
            ),
            (
                await http.delete(f"/v1/pro/stocks/{late['id']}", headers=intruder),
                "STOCK_NOT_FOUND",
            ),
        ]:
            problem(answer, 404, code)

        unlimited = await http.patch(
            f"/v1/pro/stocks/{late['id']}", json={"quantity": None}, headers=pro
        )
        assert unlimited.json() == late | {"quantity": None}
        deleted = await http.delete(f"/v1/pro/stocks/{early['id']}", headers=pro)
        assert deleted.status_code == 204
        [remaining] = (await http.get(stocks_path, headers=pro)).json()["items"]
        assert remaining["id"] == late["id"]


async def test_bad_input_is_a_422_never_a_500(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        bad_siren = {
            "email": f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com",
            "password": PASSWORD,
            "first_name": "Paula",
            "last_name": "Pro",
            "offerer": {"siren": "123456789", "name": "Nope"},
        }
        problem(await http.post("/v1/pro/accounts", json=bad_siren), 422, "INVALID_SIREN")

        account, pro, siren = await sign_up(http)
        offerer_id = account["offerer"]["id"]
        for siret, code in [
            ("12345678901234", "INVALID_SIRET"),
            (siret_of(new_siren()), "SIRET_NOT_IN_OFFERER"),
        ]:
            body = venue_body(offerer_id, siren, siret=siret)
            problem(await http.post("/v1/pro/venues", json=body, headers=pro), 422, code)

        venue = await created(
            http.post("/v1/pro/venues", json=venue_body(offerer_id, siren), headers=pro)
        )
        offer = await created(
            http.post(f"/v1/pro/venues/{venue['id']}/offers", json={"title": "X"}, headers=pro)
        )
        stocks_path = f"/v1/pro/offers/{offer['id']}/stocks"
        malformed = [
            ("POST", "/v1/pro/venues", {"json": venue_body(offerer_id, siren, latitude="north")}),
            ("POST", "/v1/pro/venues", {"json": {"offerer_id": offerer_id}}),
            ("POST", stocks_path, {"json": {"starts_at": "2031-01-15T20:00:00", "price_cents": 5}}),
            ("POST", stocks_path, {"json": {"starts_at": in_days(2), "price_cents": "cheap"}}),
            ("POST", stocks_path, {"json": [in_days(2), 800]}),
            (
                "POST",
                stocks_path,
                {"content": b'{"starts_at": ', "headers": {"content-type": "application/json"}},
            ),
            ("PATCH", f"/v1/pro/offers/{offer['id']}", {"json": {"is_active": "maybe"}}),
            ("GET", "/v1/offers", {"params": {"latitude": 48.8}}),
            ("GET", "/v1/pro/venues", {"params": {"page_size": 501}}),
        ]
        for method, path, request in malformed:
            headers = pro | request.pop("headers", {})
            answer = await http.request(method, path, headers=headers, **request)
            problem(answer, 422, "VALIDATION_ERROR")


async def test_concurrent_stock_creations_all_succeed(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        account, pro, siren = await sign_up(http)
        venue = await created(
            http.post(
                "/v1/pro/venues", json=venue_body(account["offerer"]["id"], siren), headers=pro
            )
        )
        offer = await created(
            http.post(f"/v1/pro/venues/{venue['id']}/offers", json={"title": "Rush"}, headers=pro)
        )
        stocks_path = f"/v1/pro/offers/{offer['id']}/stocks"
        answers = await asyncio.gather(
            *(
                http.post(
                    stocks_path,
                    json={"starts_at": in_days(1 + n / 24), "price_cents": 500 + n},
                    headers=pro,
                )
                for n in range(20)
            )
        )
        assert [answer.status_code for answer in answers] == [201] * 20
        listed = (await http.get(stocks_path, headers=pro)).json()["items"]
        assert {stock["id"] for stock in listed} == {answer.json()["id"] for answer in answers}
