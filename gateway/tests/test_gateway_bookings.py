"""A young person's bookings through the gateway, against real catalog and booking servers."""

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

SVG = "{http://www.w3.org/2000/svg}svg"


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


async def test_a_young_person_books_a_showtime(bapi, cinema, young):
    showtime = await bapi.showtime(cinema, days=5, price_cents=750, is_duo=True)
    answer = await bapi.http.post(
        "/v1/bookings",
        json={"stock_id": showtime.stock_id, "quantity": 2},
        headers=young.headers,
    )
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    assert booking | {
        "id": "…",
        "countermark": "…",
        "booked_at": "…",
        "signed_qr_payload": "…",
        "external_tickets": [],
    } == {
        "id": "…",
        "countermark": "…",
        "status": "CONFIRMED",
        "quantity": 2,
        "amount_cents": 750,
        "price_category_label": "Tarif unique",
        "total_cents": 1500,
        "offer_id": showtime.offer["id"],
        "offer_title": showtime.offer["title"],
        "stock_id": showtime.stock_id,
        "venue_id": cinema.venue["id"],
        "venue_name": cinema.venue["name"],
        "venue_timezone": "Europe/Paris",
        "features": ["VO"],
        "starts_at": showtime.stock["starts_at"],
        "booked_at": "…",
        "cancellation_limit_at": booking["cancellation_limit_at"],
        "used_at": None,
        "cancelled_at": None,
        "cancellation_reason": None,
        "qr_payload": f"PASSCULTURE:v3;TOKEN:{booking['countermark']}",
        "signed_qr_payload": "…",
        "external_tickets": [],
    }
    assert booking["signed_qr_payload"].startswith("PASSCULTURE:v4;")
    booked_at = parse_time(booking["booked_at"])
    # Five days ahead: cancellable for 48 hours.
    assert parse_time(booking["cancellation_limit_at"]) - booked_at == timedelta(hours=48)
    assert abs(booked_at - datetime.now(UTC)) < timedelta(minutes=1)

    me = (await bapi.http.get("/v1/me", headers=young.headers)).json()
    assert me["credit"]["remaining_cents"] == 30000 - 1500
    offer = (await bapi.http.get(f"/v1/offers/{showtime.offer['id']}")).json()
    assert offer["stocks"][0]["remaining_quantity"] is None  # unlimited stays unlimited

    mine = await bapi.http.get(f"/v1/bookings/{booking['id']}", headers=young.headers)
    assert (mine.status_code, mine.json()) == (200, booking)


async def test_bookings_are_listed_newest_first_page_by_page(bapi, cinema, young):
    showtimes = [await bapi.showtime(cinema) for _ in range(3)]
    ids = [(await bapi.book(young, showtime))["id"] for showtime in showtimes]

    first = await bapi.http.get("/v1/bookings", params={"page_size": 2}, headers=young.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    assert page["next_page_token"]
    second = await bapi.http.get(
        "/v1/bookings",
        params={"page_size": 2, "page_token": page["next_page_token"]},
        headers=young.headers,
    )
    assert [item["id"] for item in second.json()["items"]] == ids[:1]
    assert second.json()["next_page_token"] is None

    other = await bapi.sign_up_young()
    assert (await bapi.http.get("/v1/bookings", headers=other.headers)).json() == {
        "items": [],
        "next_page_token": None,
    }


async def test_someone_elses_booking_is_not_found(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema))
    other = await bapi.sign_up_young()
    for path in (
        f"/v1/bookings/{booking['id']}",
        f"/v1/bookings/{booking['id']}/qr.svg",
        f"/v1/bookings/{uuid.uuid4()}",
        "/v1/bookings/not-a-uuid",
    ):
        problem(await bapi.http.get(path, headers=other.headers), 404, "BOOKING_NOT_FOUND")
    cancel = await bapi.http.post(f"/v1/bookings/{booking['id']}/cancel", headers=other.headers)
    problem(cancel, 404, "BOOKING_NOT_FOUND")


async def test_the_ticket_has_a_qr_code_in_svg(bapi, cinema, young):
    booking = await bapi.book(young, await bapi.showtime(cinema))
    answer = await bapi.http.get(f"/v1/bookings/{booking['id']}/qr.svg", headers=young.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(answer.content)  # noqa: S314 (our own answer)
    assert svg.tag == SVG
    assert 0 < int(svg.get("width")) < int(svg.get("height"))  # the countermark beneath
    assert len(svg) > 0  # the modules' path
    assert booking["countermark"] in answer.text  # in the image's title and caption


async def test_an_idempotency_key_books_once(bapi, cinema, young, problem):
    showtime = await bapi.showtime(cinema)
    headers = young.headers | {"Idempotency-Key": f"tap-{uuid.uuid4()}"}
    body = {"stock_id": showtime.stock_id, "quantity": 1}
    first = await bapi.http.post("/v1/bookings", json=body, headers=headers)
    again = await bapi.http.post("/v1/bookings", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert first.json() == again.json()
    listed = (await bapi.http.get("/v1/bookings", headers=young.headers)).json()["items"]
    assert [item["id"] for item in listed] == [first.json()["id"]]

    other = await bapi.showtime(cinema)
    reused = {"stock_id": other.stock_id, "quantity": 1}
    problem(
        await bapi.http.post("/v1/bookings", json=reused, headers=headers),
        409,
        "IDEMPOTENCY_KEY_REUSED",
    )


async def test_cancelling_gives_the_seat_and_the_credit_back(bapi, cinema, young, problem):
    showtime = await bapi.showtime(cinema, quantity=3, price_cents=900)
    booking = await bapi.book(young, showtime)
    offer_path = f"/v1/offers/{showtime.offer['id']}"
    assert (await bapi.http.get(offer_path)).json()["stocks"][0]["remaining_quantity"] == 2

    path = f"/v1/bookings/{booking['id']}/cancel"
    answer = await bapi.http.post(path, headers=young.headers)
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancellation_reason"] == "BENEFICIARY"
    assert parse_time(cancelled["cancelled_at"]) <= datetime.now(UTC)
    me = (await bapi.http.get("/v1/me", headers=young.headers)).json()
    assert me["credit"]["remaining_cents"] == 30000

    problem(await bapi.http.post(path, headers=young.headers), 409, "ALREADY_CANCELLED")
    # Cancelled, the film may be booked again.
    assert (await bapi.book(young, showtime))["status"] == "CONFIRMED"


async def test_a_last_minute_booking_cannot_be_cancelled(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    assert booking["cancellation_limit_at"] == booking["booked_at"]
    answer = await bapi.http.post(f"/v1/bookings/{booking['id']}/cancel", headers=young.headers)
    problem(answer, 409, "CANCELLATION_LIMIT_PASSED")


async def test_a_used_booking_cannot_be_cancelled(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    path = f"/v1/pro/countermarks/{booking['countermark']}/use"
    used = await bapi.http.post(path, headers=cinema.pro.headers)
    assert used.status_code == 200, used.text
    answer = await bapi.http.post(f"/v1/bookings/{booking['id']}/cancel", headers=young.headers)
    problem(answer, 409, "ALREADY_USED")


async def test_an_unknown_stock_is_404(bapi, young, problem):
    for stock_id in (str(uuid.uuid4()), "not-a-uuid"):
        body = {"stock_id": stock_id, "quantity": 1}
        answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
        problem(answer, 404, "STOCK_NOT_FOUND")


async def test_a_sold_out_showtime(bapi, cinema, young, problem):
    showtime = await bapi.showtime(cinema, quantity=1)
    await bapi.book(young, showtime)
    late = await bapi.sign_up_young()
    body = {"stock_id": showtime.stock_id, "quantity": 1}
    problem(await bapi.http.post("/v1/bookings", json=body, headers=late.headers), 409, "SOLD_OUT")


async def test_one_booking_per_film(bapi, cinema, young, problem):
    showtime = await bapi.showtime(cinema)
    await bapi.book(young, showtime)
    later = await bapi.create_stock(
        cinema.pro, showtime.offer["id"], starts_at=bapi.in_days(6), price_cents=800
    )
    body = {"stock_id": later["id"], "quantity": 1}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 409, "ALREADY_BOOKED")


async def test_the_credit_must_cover_the_price(bapi, cinema, young, problem):
    showtime = await bapi.showtime(cinema, price_cents=20000, is_duo=True)
    body = {"stock_id": showtime.stock_id, "quantity": 2}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 409, "INSUFFICIENT_CREDIT")
    assert (await bapi.book(young, showtime, quantity=1))["total_cents"] == 20000


@pytest.mark.parametrize("why", ["offerer-pending", "offer-inactive", "booking-limit-passed"])
async def test_a_showtime_that_is_not_bookable(bapi, young, problem, why):
    cinema = await bapi.cinema(validated=why != "offerer-pending")
    if why == "booking-limit-passed":
        showtime = await bapi.showtime(cinema, booking_limit_at=bapi.in_days(-1 / 24))
    else:
        showtime = await bapi.showtime(cinema)
    if why == "offer-inactive":
        patched = await bapi.http.patch(
            f"/v1/pro/offers/{showtime.offer['id']}",
            json={"is_active": False},
            headers=cinema.pro.headers,
        )
        assert patched.status_code == 200, patched.text
    body = {"stock_id": showtime.stock_id, "quantity": 1}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 409, "NOT_BOOKABLE")


async def test_no_credit_granted(bapi, cinema, problem):
    young = await bapi.sign_up_young(credit=False)
    body = {"stock_id": (await bapi.showtime(cinema)).stock_id, "quantity": 1}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 403, "NO_CREDIT")


async def test_an_expired_credit(bapi, cinema, young, problem, booking_sql):
    await booking_sql(
        "UPDATE credits SET granted_at = now() - interval '2 years 1 day',"
        " expires_at = now() - interval '1 day' WHERE beneficiary_id = :id",
        id=young.id,
    )
    body = {"stock_id": (await bapi.showtime(cinema)).stock_id, "quantity": 1}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 403, "CREDIT_EXPIRED")
    me = (await bapi.http.get("/v1/me", headers=young.headers)).json()
    assert me["credit"]["remaining_cents"] == 0


@pytest.mark.parametrize(("is_duo", "quantity"), [(False, 2), (True, 3), (False, 0)])
async def test_an_invalid_quantity(bapi, cinema, young, problem, is_duo, quantity):
    showtime = await bapi.showtime(cinema, is_duo=is_duo)
    body = {"stock_id": showtime.stock_id, "quantity": quantity}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 422, "INVALID_QUANTITY")


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 1},
        {"stock_id": 12, "quantity": 1},
        {"stock_id": "x", "quantity": "1"},
        {"stock_id": "x", "quantity": 2**31},
        {"stock_id": "x", "quantity": 1, "price_cents": 0},
    ],
    ids=["no-stock", "stock-type", "quantity-type", "quantity-range", "unknown-field"],
)
async def test_a_malformed_booking_is_422(bapi, young, problem, body):
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 422, "VALIDATION_ERROR")


async def test_the_catalog_down_is_503(bapi, cinema, young, catalog_server, problem):
    showtime = await bapi.showtime(cinema)
    await catalog_server.stop()
    body = {"stock_id": showtime.stock_id, "quantity": 1}
    answer = await bapi.http.post("/v1/bookings", json=body, headers=young.headers)
    problem(answer, 503, "CATALOG_UNAVAILABLE")


async def test_the_booking_service_down_is_503(client_with, full_gateway_settings, young, problem):
    dead = full_gateway_settings.model_copy(update={"booking_addr": "127.0.0.1:1"})
    async with client_with(dead) as client:
        answer = await client.get("/v1/me", headers=young.headers)
        ready = await client.get("/readyz")
    problem(answer, 503, "UNAVAILABLE")
    assert problem(ready, 503, "UPSTREAMS_NOT_READY")["upstreams"] == ["booking"]


async def test_readyz_checks_the_booking_service(booking_client):
    answer = await booking_client.get("/readyz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})
