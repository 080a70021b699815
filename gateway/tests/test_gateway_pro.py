"""A pro's venues, offers and stocks through the gateway: shapes, PATCH semantics, isolation."""

import pytest

from tests.support.catalog_helpers import new_siren, siret_of


async def test_venue_timezone_comes_from_the_postal_code(api, pro):
    paris = await api.create_venue(pro)
    assert paris["timezone"] == "Europe/Paris"
    assert paris["offerer_id"] == pro.offerer_id
    assert paris["siret"] == siret_of(pro.siren)
    reunion = await api.create_venue(
        pro, siret=siret_of(pro.siren, 2), postal_code="97400", city="Saint-Denis"
    )
    assert reunion["timezone"] == "Indian/Reunion"
    chosen = await api.create_venue(pro, siret=None, timezone="America/Cayenne")
    assert (chosen["timezone"], chosen["siret"]) == ("America/Cayenne", None)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"siret": "12345678901234"}, "INVALID_SIRET"),
        ({"siret": "1234"}, "INVALID_SIRET"),
        ({"siret": siret_of(new_siren())}, "SIRET_NOT_IN_OFFERER"),
        ({"timezone": "Mars/Olympus"}, "INVALID_TIMEZONE"),
        ({"latitude": 95.0}, "INVALID_COORDINATES"),
        ({"postal_code": "7500"}, "INVALID_POSTAL_CODE"),
    ],
)
async def test_the_catalogs_venue_rules_are_422(api, pro, problem, fields, code):
    body = api.venue_body(pro, **fields)
    answer = await api.http.post("/v1/pro/venues", json=body, headers=pro.headers)
    problem(answer, 422, code)


async def test_venue_patch_changes_only_the_fields_present(api, pro):
    venue = await api.create_venue(pro)
    path = f"/v1/pro/venues/{venue['id']}"

    renamed = await api.http.patch(path, json={"name": "Le Louxor"}, headers=pro.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == venue | {"name": "Le Louxor"}

    moved = await api.http.patch(
        path, json={"postal_code": "97200", "city": "Fort-de-France"}, headers=pro.headers
    )
    assert moved.json()["timezone"] == "America/Martinique"  # follows the postal code

    without_siret = await api.http.patch(path, json={"siret": None}, headers=pro.headers)
    assert without_siret.json()["siret"] is None
    fetched = await api.http.get(path, headers=pro.headers)
    assert fetched.json() == without_siret.json()


async def test_venue_patch_refuses_nulls_and_unknown_fields(api, pro, problem):
    venue = await api.create_venue(pro)
    path = f"/v1/pro/venues/{venue['id']}"
    for body in ({"name": None}, {"latitude": None}, {"nmae": "typo"}, {"latitude": "1"}):
        problem(await api.http.patch(path, json=body, headers=pro.headers), 422, "VALIDATION_ERROR")


async def test_venues_are_listed_page_by_page(api, pro):
    created = [await api.create_venue(pro, siret=siret_of(pro.siren, n)) for n in (1, 2, 3)]
    first = (await api.http.get("/v1/pro/venues?page_size=2", headers=pro.headers)).json()
    assert len(first["items"]) == 2
    assert first["next_page_token"]
    second = (
        await api.http.get(
            "/v1/pro/venues",
            params={"page_size": 2, "page_token": first["next_page_token"]},
            headers=pro.headers,
        )
    ).json()
    assert second["next_page_token"] is None
    assert first["items"] + second["items"] == created


async def test_offer_defaults_and_patch(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"], title="Playtime")
    assert offer | {"id": "…"} == {
        "id": "…",
        "venue_id": venue["id"],
        "title": "Playtime",
        "description": "",
        "poster_url": "",
        "duration_minutes": None,
        "is_duo": False,
        "is_active": True,
        "source": "MANUAL",
    }
    path = f"/v1/pro/offers/{offer['id']}"

    inactive = await api.http.patch(path, json={"is_active": False}, headers=pro.headers)
    assert inactive.json() == offer | {"is_active": False}
    edited = await api.http.patch(
        path, json={"duration_minutes": 124, "is_duo": True}, headers=pro.headers
    )
    assert edited.json() == offer | {"is_active": False, "duration_minutes": 124, "is_duo": True}
    assert (await api.http.get(path, headers=pro.headers)).json() == edited.json()

    for body in ({"title": None}, {"is_active": "no"}, {"duration_minutes": None}):
        problem(await api.http.patch(path, json=body, headers=pro.headers), 422, "VALIDATION_ERROR")
    problem(
        await api.http.patch(path, json={"title": " "}, headers=pro.headers), 422, "INVALID_TITLE"
    )


async def test_offers_are_listed_by_venue(api, pro):
    venue, other_venue = await api.create_venue(pro), await api.create_venue(pro, siret=None)
    offer = await api.create_offer(pro, venue["id"])
    await api.create_offer(pro, other_venue["id"])
    listed = await api.http.get(
        "/v1/pro/offers", params={"venue_id": venue["id"]}, headers=pro.headers
    )
    assert listed.json() == {"items": [offer], "next_page_token": None}
    everything = await api.http.get("/v1/pro/offers", headers=pro.headers)
    assert len(everything.json()["items"]) == 2


async def test_stock_creation_takes_any_offset_and_answers_in_utc(api, pro):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    stock = await api.create_stock(
        pro,
        offer["id"],
        starts_at="2031-01-15T14:00:00+01:00",
        booking_limit_at="2031-01-15T12:30:00+01:00",
        price_cents=750,
        quantity=100,
        features=["VO", "VF"],
    )
    assert stock | {"id": "…", "price_category_id": "…"} == {
        "id": "…",
        "offer_id": offer["id"],
        "starts_at": "2031-01-15T13:00:00Z",
        "price_cents": 750,
        "quantity": 100,
        "booked_quantity": 0,
        "booking_limit_at": "2031-01-15T11:30:00Z",
        "features": ["VF", "VO"],
        "is_active": True,
        "price_category_id": "…",
        "price_category_label": "Tarif unique",
    }
    unlimited = await api.create_stock(pro, offer["id"], starts_at="2031-01-16T20:00:00Z")
    assert (unlimited["quantity"], unlimited["features"]) == (None, [])
    assert unlimited["booking_limit_at"] == unlimited["starts_at"]


async def test_stock_patch_semantics(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    stock = await api.create_stock(pro, offer["id"], starts_at="2031-02-01T20:00:00Z", quantity=50)
    path = f"/v1/pro/stocks/{stock['id']}"

    def send(body: dict):
        return api.http.patch(path, json=body, headers=pro.headers)

    async def patch(body: dict) -> dict:
        answer = await send(body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert await patch({}) == stock
    priced = await patch({"price_cents": 990})
    # The offer's tariff of that price (new: "Tarif 2"); the quantity untouched.
    assert priced == stock | {
        "price_cents": 990,
        "price_category_id": priced["price_category_id"],
        "price_category_label": "Tarif 2",
    }
    unlimited = await patch({"quantity": None})
    assert unlimited == priced | {"quantity": None}
    limited = await patch({"quantity": 20})
    assert limited == priced | {"quantity": 20}
    moved = await patch({"starts_at": "2031-02-02T21:00:00+01:00"})
    assert moved["starts_at"] == moved["booking_limit_at"] == "2031-02-02T20:00:00Z"
    assert (await patch({"is_active": False}))["is_active"] is False

    for body in (
        {"starts_at": "2031-02-02T21:00:00"},
        {"starts_at": None},
        {"price_cents": None},
        {"quantity": "12"},
    ):
        problem(await send(body), 422, "VALIDATION_ERROR")
    problem(await send({"price_cents": 40_000}), 422, "INVALID_PRICE")
    too_late = {"booking_limit_at": "2031-03-01T00:00:00Z"}
    problem(await send(too_late), 422, "INVALID_BOOKING_LIMIT")


async def test_stocks_are_listed_and_deleted(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    first = await api.create_stock(pro, offer["id"], starts_at="2031-03-01T18:00:00Z")
    second = await api.create_stock(pro, offer["id"], starts_at="2031-03-01T21:00:00Z")
    stocks_path = f"/v1/pro/offers/{offer['id']}/stocks"
    listed = await api.http.get(stocks_path, headers=pro.headers)
    assert listed.json() == {"items": [first, second], "next_page_token": None}

    deleted = await api.http.delete(f"/v1/pro/stocks/{first['id']}", headers=pro.headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await api.http.get(stocks_path, headers=pro.headers)).json()["items"] == [second]
    again = await api.http.delete(f"/v1/pro/stocks/{first['id']}", headers=pro.headers)
    problem(again, 404, "STOCK_NOT_FOUND")


async def test_a_pro_never_reaches_another_pros_data(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    stock = await api.create_stock(pro, offer["id"])
    intruder = (await api.sign_up()).headers
    http = api.http
    problem(
        await http.get(f"/v1/pro/venues/{venue['id']}", headers=intruder), 404, "VENUE_NOT_FOUND"
    )
    problem(
        await http.patch(f"/v1/pro/venues/{venue['id']}", json={"name": "Mine"}, headers=intruder),
        404,
        "VENUE_NOT_FOUND",
    )
    problem(
        await http.post(
            f"/v1/pro/venues/{venue['id']}/offers", json={"title": "X"}, headers=intruder
        ),
        404,
        "VENUE_NOT_FOUND",
    )
    problem(
        await http.get(f"/v1/pro/offers/{offer['id']}", headers=intruder), 404, "OFFER_NOT_FOUND"
    )
    problem(
        await http.get(f"/v1/pro/offers/{offer['id']}/stocks", headers=intruder),
        404,
        "OFFER_NOT_FOUND",
    )
    problem(
        await http.patch(
            f"/v1/pro/stocks/{stock['id']}", json={"price_cents": 1}, headers=intruder
        ),
        404,
        "STOCK_NOT_FOUND",
    )
    problem(
        await http.delete(f"/v1/pro/stocks/{stock['id']}", headers=intruder), 404, "STOCK_NOT_FOUND"
    )
    assert (await http.get("/v1/pro/venues", headers=intruder)).json()["items"] == []
    assert (await http.get("/v1/pro/offers", headers=intruder)).json()["items"] == []
    body = api.venue_body(pro)
    problem(
        await http.post("/v1/pro/venues", json=body, headers=intruder), 404, "OFFERER_NOT_FOUND"
    )


async def test_an_idempotency_key_creates_once(api, pro, problem):
    venue = await api.create_venue(pro)
    path = f"/v1/pro/venues/{venue['id']}/offers"
    keyed = pro.headers | {"Idempotency-Key": "9b0c6f2e-offer-1"}
    first = await api.http.post(path, json={"title": "Jour de fête"}, headers=keyed)
    again = await api.http.post(path, json={"title": "Jour de fête"}, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    listed = await api.http.get("/v1/pro/offers", headers=pro.headers)
    assert len(listed.json()["items"]) == 1
    reused = await api.http.post(path, json={"title": "Les Vacances"}, headers=keyed)
    problem(reused, 409, "IDEMPOTENCY_KEY_REUSED")
