"""Nearby search and an offer's public page: anonymous, validated parameters, contract shapes."""

import uuid

import pytest

LYON = (45.7640, 4.8357)
NEAR_LYON = (45.78, 4.85)
MARSEILLE = (43.2965, 5.3698)  # ~280 km from Lyon
BREST = (48.3904, -4.4861)  # ~750 km from Lyon


def unique_title() -> str:
    return f"Les Enfants du Paradis {uuid.uuid4().hex[:8]}"


async def showing(api, pro, *, at=LYON, title: str, **stock_fields) -> tuple[dict, dict, dict]:
    venue = await api.create_venue(pro, at=at, city="Lyon", postal_code="69001", siret=None)
    offer = await api.create_offer(pro, venue["id"], title=title, duration_minutes=190)
    stock = await api.create_stock(pro, offer["id"], **stock_fields)
    return venue, offer, stock


def search(client, at, **params):
    return client.get("/v1/offers", params={"latitude": at[0], "longitude": at[1]} | params)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"longitude": 4.8}, "latitude"),
        ({"latitude": 45.7}, "longitude"),
        ({"latitude": "north", "longitude": 4.8}, "latitude"),
        ({"latitude": 91, "longitude": 4.8}, "latitude"),
        ({"latitude": 45.7, "longitude": 181}, "longitude"),
        ({"latitude": 45.7, "longitude": 4.8, "radius_km": 501}, "radius_km"),
        ({"latitude": 45.7, "longitude": 4.8, "radius_km": 0}, "radius_km"),
        (
            {"latitude": 45.7, "longitude": 4.8, "starts_after": "2031-01-01T00:00:00"},
            "starts_after",
        ),
        ({"latitude": 45.7, "longitude": 4.8, "starts_before": "next week"}, "starts_before"),
        ({"latitude": 45.7, "longitude": 4.8, "page_size": 501}, "page_size"),
        ({"latitude": 45.7, "longitude": 4.8, "q": "a\x00"}, "q"),
    ],
)
async def test_bad_search_parameters_are_422(client, problem, params, field):
    body = problem(await client.get("/v1/offers", params=params), 422, "VALIDATION_ERROR")
    assert [error["field"] for error in body["errors"]] == [field]


async def test_a_nearby_offer_is_found_with_its_summary(api, pro, client):
    title = unique_title()
    venue, offer, stock = await showing(api, pro, title=title, price_cents=650)
    await api.create_stock(pro, offer["id"], starts_at=api.in_days(5), price_cents=900)

    answer = await search(client, NEAR_LYON, q=title.upper())
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["next_page_token"] is None
    [found] = page["items"]
    assert found | {"distance_km": 0} == {
        "id": offer["id"],
        "title": title,
        "poster_url": "",
        "duration_minutes": 190,
        "is_duo": False,
        "venue": {
            "id": venue["id"],
            "name": venue["name"],
            "city": "Lyon",
            "latitude": LYON[0],
            "longitude": LYON[1],
        },
        "distance_km": 0,
        "min_price_cents": 650,
        "next_starts_at": stock["starts_at"],
        "prices": [
            {"label": "Tarif unique", "price_cents": 650},
            {"label": "Tarif 2", "price_cents": 900},
        ],
    }
    assert 1 < found["distance_km"] < 3


async def test_the_radius_and_the_time_window_filter(api, pro, client):
    title = unique_title()
    await showing(api, pro, title=title, starts_at="2031-06-01T20:00:00+02:00")

    assert (await search(client, MARSEILLE, q=title)).json()["items"] == []  # default 50 km
    far = await search(client, MARSEILLE, q=title, radius_km=300)
    assert len(far.json()["items"]) == 1
    assert (await search(client, BREST, q=title, radius_km=500)).json()["items"] == []

    before = await search(client, LYON, q=title, starts_before="2031-06-01T19:00:00+02:00")
    assert before.json()["items"] == []
    window = await search(
        client,
        LYON,
        q=title,
        starts_after="2031-06-01T19:00:00+02:00",
        starts_before="2031-06-01T21:00:00+02:00",
    )
    assert window.json()["items"][0]["next_starts_at"] == "2031-06-01T18:00:00Z"


async def test_offers_of_a_pending_offerer_or_inactive_are_hidden(api, client, problem):
    pending = await api.sign_up(validated=False)
    title = unique_title()
    _, offer, _ = await showing(api, pending, title=title)
    assert (await search(client, LYON, q=title)).json()["items"] == []
    problem(await client.get(f"/v1/offers/{offer['id']}"), 404, "OFFER_NOT_FOUND")

    validated = await api.sign_up()
    _, offer, _ = await showing(api, validated, title=title)
    assert [item["id"] for item in (await search(client, LYON, q=title)).json()["items"]] == [
        offer["id"]
    ]
    await api.http.patch(
        f"/v1/pro/offers/{offer['id']}", json={"is_active": False}, headers=validated.headers
    )
    assert (await search(client, LYON, q=title)).json()["items"] == []


async def test_search_results_come_page_by_page(api, pro, client):
    title = unique_title()
    for _ in range(3):
        await showing(api, pro, title=title)
    first = (await search(client, LYON, q=title, page_size=2)).json()
    assert len(first["items"]) == 2
    second = await search(client, LYON, q=title, page_size=2, page_token=first["next_page_token"])
    assert len(second.json()["items"]) == 1
    assert second.json()["next_page_token"] is None


async def test_the_public_offer_shows_its_stocks(api, pro, client, problem):
    _, offer, stock = await showing(
        api, pro, title=unique_title(), quantity=40, features=["VO"], price_cents=700
    )
    unlimited = await api.create_stock(pro, offer["id"], starts_at=api.in_days(6))
    closed = await api.create_stock(
        pro, offer["id"], starts_at=api.in_days(7), booking_limit_at=api.in_days(6.5)
    )
    await api.http.patch(
        f"/v1/pro/stocks/{closed['id']}", json={"is_active": False}, headers=pro.headers
    )

    answer = await client.get(f"/v1/offers/{offer['id']}")
    assert answer.status_code == 200, answer.text
    public = answer.json()
    assert public["title"] == offer["title"]
    assert public["description"] == ""
    assert public["venue"]["city"] == "Lyon"
    assert public["stocks"] == [
        {
            "id": stock["id"],
            "starts_at": stock["starts_at"],
            "price_cents": 700,
            "remaining_quantity": 40,
            "features": ["VO"],
            "is_bookable": True,
            "price_category_id": stock["price_category_id"],
            "price_category_label": "Tarif unique",
        },
        {
            "id": unlimited["id"],
            "starts_at": unlimited["starts_at"],
            "price_cents": 800,
            "remaining_quantity": None,
            "features": [],
            "is_bookable": True,
            "price_category_id": unlimited["price_category_id"],
            "price_category_label": "Tarif 2",
        },
        {
            "id": closed["id"],
            "starts_at": closed["starts_at"],
            "price_cents": 800,
            "remaining_quantity": None,
            "features": [],
            "is_bookable": False,
            "price_category_id": unlimited["price_category_id"],
            "price_category_label": "Tarif 2",
        },
    ]
    problem(await client.get("/v1/offers/not-an-id"), 404, "OFFER_NOT_FOUND")
