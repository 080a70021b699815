"""A pro's tariffs (price categories) through the gateway, in-process against the real catalog:
the JSON shapes, the problem codes, and their documentation in the OpenAPI."""

import pytest


@pytest.fixture
async def offer(api, pro) -> dict:
    venue = await api.create_venue(pro)
    return await api.create_offer(pro, venue["id"])


async def test_tariffs_and_their_stocks_as_json(api, pro, offer):
    path = f"/v1/pro/offers/{offer['id']}/price-categories"
    answer = await api.http.post(
        path, json={"label": "Tarif réduit", "price_cents": 500}, headers=pro.headers
    )
    assert answer.status_code == 201, answer.text
    reduced = answer.json()
    assert reduced.keys() == {"id", "offer_id", "label", "price_cents"}
    stock = await api.create_stock(
        pro, offer["id"], price_cents=None, price_category_id=reduced["id"]
    )
    assert (stock["price_category_id"], stock["price_category_label"], stock["price_cents"]) == (
        reduced["id"],
        "Tarif réduit",
        500,
    )
    bare = await api.create_stock(pro, offer["id"], price_cents=900)
    assert bare["price_category_label"] == "Tarif 2"
    moved = await api.http.patch(
        f"/v1/pro/stocks/{bare['id']}",
        json={"price_category_id": reduced["id"]},
        headers=pro.headers,
    )
    assert (moved.json()["price_category_label"], moved.json()["price_cents"]) == (
        "Tarif réduit",
        500,
    )
    listed = (await api.http.get(path, headers=pro.headers)).json()
    assert [c["label"] for c in listed["items"]] == ["Tarif réduit", "Tarif 2"]
    assert listed["next_page_token"] is None


@pytest.mark.parametrize(
    ("method", "target", "body", "status", "code"),
    [
        ("post", "offer", {"label": "", "price_cents": 1}, 422, "INVALID_PRICE_CATEGORY_LABEL"),
        ("post", "offer", {"label": "Cher", "price_cents": 30_001}, 422, "INVALID_PRICE"),
        (
            "post",
            "offer",
            {"label": "Tarif normal", "price_cents": 1},
            409,
            "PRICE_CATEGORY_LABEL_TAKEN",
        ),
        ("post", "offer", {"label": "Sans prix"}, 422, "VALIDATION_ERROR"),
        ("post", "offer", {"label": "Texte", "price_cents": "800"}, 422, "VALIDATION_ERROR"),
        ("patch", "category", {"label": None}, 422, "VALIDATION_ERROR"),
        ("patch", "category", {"price_cents": -1}, 422, "INVALID_PRICE"),
        ("patch", "unknown", {"label": "X"}, 404, "PRICE_CATEGORY_NOT_FOUND"),
        ("delete", "unknown", None, 404, "PRICE_CATEGORY_NOT_FOUND"),
    ],
)
async def test_what_tariffs_refuse(api, pro, offer, problem, method, target, body, status, code):
    normal = await api.http.post(
        f"/v1/pro/offers/{offer['id']}/price-categories",
        json={"label": "Tarif normal", "price_cents": 800},
        headers=pro.headers,
    )
    path = {
        "offer": f"/v1/pro/offers/{offer['id']}/price-categories",
        "category": f"/v1/pro/price-categories/{normal.json()['id']}",
        "unknown": "/v1/pro/price-categories/not-an-id",
    }[target]
    kwargs = {"headers": pro.headers} | ({} if body is None else {"json": body})
    problem(await api.http.request(method.upper(), path, **kwargs), status, code)


async def test_a_stock_without_price_nor_tariff_is_refused(api, pro, offer, problem):
    answer = await api.http.post(
        f"/v1/pro/offers/{offer['id']}/stocks",
        json={"starts_at": api.in_days(3)},
        headers=pro.headers,
    )
    problem(answer, 422, "PRICE_REQUIRED")


async def test_the_openapi_documents_tariffs(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    tariffs = paths["/v1/pro/offers/{offer_id}/price-categories"]
    assert {"post", "get"} <= tariffs.keys()
    assert "TOO_MANY_PRICE_CATEGORIES" in tariffs["post"]["responses"]["409"]["description"]
    one = paths["/v1/pro/price-categories/{price_category_id}"]
    assert "PRICE_CATEGORY_IN_USE" in one["delete"]["responses"]["409"]["description"]
    assert "application/problem+json" in one["delete"]["responses"]["409"]["content"]
    assert (
        "PRICE_REQUIRED"
        in paths["/v1/pro/offers/{offer_id}/stocks"]["post"]["responses"]["422"]["description"]
    )
    schemas = spec["components"]["schemas"]
    assert {"price_category_id", "price_category_label"} <= schemas["StockOut"]["properties"].keys()
    assert "price_category_id" in schemas["StockIn"]["properties"]
    assert "price_category_label" in schemas["PublicStockOut"]["properties"]
    assert "prices" in schemas["OfferSummaryOut"]["properties"]
    assert "price_category_label" in schemas["BookingOut"]["properties"]
