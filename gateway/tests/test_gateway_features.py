"""A 3D showtime through the gateway: the pro creates it, the public offer shows it, and the
young person's booking (and the pro's list and CSV of bookings) carry "3D" beside the version."""

import csv
import io


async def test_a_pros_3d_stock_is_answered_in_one_order(api, pro):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    stock = await api.create_stock(pro, offer["id"], features=["3D", "VF"])
    assert stock["features"] == ["VF", "3D"]
    listed = await api.http.get(f"/v1/pro/offers/{offer['id']}/stocks", headers=pro.headers)
    assert [item["features"] for item in listed.json()["items"]] == [["VF", "3D"]]
    public = await api.http.get(f"/v1/offers/{offer['id']}")
    assert [item["features"] for item in public.json()["stocks"]] == [["VF", "3D"]]


async def test_a_feature_the_catalog_does_not_know_is_refused(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    answer = await api.http.post(
        f"/v1/pro/offers/{offer['id']}/stocks",
        json={"starts_at": api.in_days(3), "price_cents": 800, "features": ["VO", "4DX"]},
        headers=pro.headers,
    )
    problem(answer, 422, "VALIDATION_ERROR")


async def test_the_openapi_lists_3d_among_the_features_in_and_out(client):
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    listed = {
        name: schema["properties"]["features"]["items"]["enum"]
        for name, schema in schemas.items()
        if "features" in schema.get("properties", {})
    }
    assert {"StockIn", "StockOut", "PublicStockOut", "BookingOut"} <= listed.keys()
    assert set(map(tuple, listed.values())) == {("VF", "VO", "3D")}


async def test_a_booking_of_a_3d_showtime_says_3d(bapi, cinema, young):
    showtime = await bapi.showtime(cinema, features=["3D", "VO"])
    booking = await bapi.book(young, showtime)
    assert booking["features"] == ["VO", "3D"]
    mine = await bapi.http.get(f"/v1/bookings/{booking['id']}", headers=young.headers)
    assert mine.json()["features"] == ["VO", "3D"]
    pros = await bapi.http.get("/v1/pro/bookings", headers=cinema.pro.headers)
    assert [item["features"] for item in pros.json()["items"]] == [["VO", "3D"]]
    exported = await bapi.http.get(
        "/v1/pro/bookings", headers=cinema.pro.headers | {"Accept": "text/csv"}
    )
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert row["features"] == "VO 3D"


async def test_a_pro_edits_a_stocks_features_whole(api, pro, problem):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    stock = await api.create_stock(pro, offer["id"], features=["VF"])
    path = f"/v1/pro/stocks/{stock['id']}"

    async def patch(body: dict):
        return await api.http.patch(path, json=body, headers=pro.headers)

    assert (await patch({"features": ["3D", "VO"]})).json()["features"] == ["VO", "3D"]
    assert (await patch({"price_cents": 650})).json()["features"] == ["VO", "3D"]
    assert (await patch({"features": []})).json()["features"] == []
    problem(await patch({"features": None}), 422, "VALIDATION_ERROR")
    problem(await patch({"features": ["IMAX"]}), 422, "VALIDATION_ERROR")
