"""The counter ("guichet") and the pro's bookings list and CSV export, through the gateway."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.routes import pro_bookings


def countermark_path(countermark: str, action: str = "") -> str:
    return f"/v1/pro/countermarks/{countermark}" + (f"/{action}" if action else "")


async def test_the_counter_checks_uses_and_unuses_a_countermark(bapi, cinema, young):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1, price_cents=650))
    countermark, pro = booking["countermark"], cinema.pro.headers

    checked = await bapi.http.get(countermark_path(countermark.lower()), headers=pro)
    assert checked.status_code == 200, checked.text
    seen = checked.json()
    assert seen | {"booked_at": "…", "cancellation_limit_at": "…"} == {
        "booking_id": booking["id"],
        "countermark": countermark,
        "status": "CONFIRMED",
        "offer_id": booking["offer_id"],
        "offer_title": booking["offer_title"],
        "stock_id": booking["stock_id"],
        "venue_id": cinema.venue["id"],
        "venue_name": cinema.venue["name"],
        "venue_timezone": "Europe/Paris",
        "starts_at": booking["starts_at"],
        "quantity": 1,
        "amount_cents": 650,
        "price_category_label": "Tarif unique",
        "total_cents": 650,
        "features": ["VO"],
        "booked_at": "…",
        "cancellation_limit_at": "…",
        "used_at": None,
        "validated_by": None,
        "cancelled_at": None,
        "cancellation_reason": None,
        "beneficiary": {"first_name": "Camille", "last_name": "Jeune", "email": young.email},
        "external_tickets": [],
    }

    used = await bapi.http.post(countermark_path(countermark, "use"), headers=pro)
    assert used.status_code == 200, used.text
    assert (used.json()["status"], used.json()["validated_by"]) == ("USED", "OFFERER")
    assert datetime.fromisoformat(used.json()["used_at"]) <= datetime.now(UTC)

    unused = await bapi.http.post(countermark_path(countermark, "unuse"), headers=pro)
    assert unused.status_code == 200, unused.text
    assert (unused.json()["status"], unused.json()["used_at"]) == ("CONFIRMED", None)
    again = await bapi.http.post(countermark_path(countermark, "use"), headers=pro)
    assert again.json()["status"] == "USED"
    mine = await bapi.http.get(f"/v1/bookings/{booking['id']}", headers=young.headers)
    assert mine.json()["status"] == "USED"


async def test_another_offerers_countermark_is_like_an_unknown_one(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    stranger = await bapi.sign_up()
    answers = [
        await bapi.http.get(countermark_path(countermark), headers=stranger.headers)
        for countermark in (booking["countermark"], "ZZZZZZ")
    ]
    others, unknown = (problem(answer, 404, "COUNTERMARK_NOT_FOUND") for answer in answers)
    assert others == unknown
    use = await bapi.http.post(
        countermark_path(booking["countermark"], "use"), headers=stranger.headers
    )
    problem(use, 404, "COUNTERMARK_NOT_FOUND")


async def test_a_cancelled_booking_is_gone(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=5))
    cancel = await bapi.http.post(f"/v1/bookings/{booking['id']}/cancel", headers=young.headers)
    assert cancel.status_code == 200, cancel.text
    for answer in (
        await bapi.http.get(countermark_path(booking["countermark"]), headers=cinema.pro.headers),
        await bapi.http.post(
            countermark_path(booking["countermark"], "use"), headers=cinema.pro.headers
        ),
    ):
        problem(answer, 410, "BOOKING_CANCELLED")


async def test_a_booking_is_used_once_and_unused_only_when_used(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    pro, countermark = cinema.pro.headers, booking["countermark"]
    unuse = await bapi.http.post(countermark_path(countermark, "unuse"), headers=pro)
    problem(unuse, 410, "BOOKING_NOT_USED")
    assert (await bapi.http.post(countermark_path(countermark, "use"), headers=pro)).is_success
    problem(
        await bapi.http.post(countermark_path(countermark, "use"), headers=pro),
        410,
        "BOOKING_ALREADY_USED",
    )
    problem(
        await bapi.http.get(countermark_path(countermark), headers=pro), 410, "BOOKING_ALREADY_USED"
    )


async def test_a_booking_still_cancellable_is_not_yet_validatable(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=5))
    answer = await bapi.http.post(
        countermark_path(booking["countermark"], "use"), headers=cinema.pro.headers
    )
    body = problem(answer, 403, "BOOKING_NOT_YET_VALIDATABLE")
    # In the venue's local time (Paris: +01:00 or +02:00), at the cancellation limit.
    validatable_from = datetime.fromisoformat(body["validatable_from"])
    assert validatable_from.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    limit = datetime.fromisoformat(booking["cancellation_limit_at"])
    assert abs(validatable_from - limit) < timedelta(seconds=1)


async def test_a_reimbursed_booking_is_final(bapi, cinema, young, problem, booking_sql):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    pro, countermark = cinema.pro.headers, booking["countermark"]
    assert (await bapi.http.post(countermark_path(countermark, "use"), headers=pro)).is_success
    # Payments (not built yet) marks bookings REIMBURSED.
    await booking_sql(
        "UPDATE bookings SET status = 'REIMBURSED', reimbursed_at = now() WHERE id = :id",
        id=booking["id"],
    )
    for action, method in (("", "GET"), ("use", "POST"), ("unuse", "POST")):
        answer = await bapi.http.request(method, countermark_path(countermark, action), headers=pro)
        problem(answer, 403, "BOOKING_REIMBURSED")


async def test_wrong_countermarks_are_throttled_with_retry_after(
    bapi, cinema, young, problem, booking_settings
):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    pro = cinema.pro.headers
    assert booking_settings.counter_max_failures == 3
    for guess in ("AAAAAA", "not-one", "BBBBBB"):
        problem(
            await bapi.http.get(countermark_path(guess), headers=pro), 404, "COUNTERMARK_NOT_FOUND"
        )

    for path in (countermark_path("CCCCCC"), countermark_path(booking["countermark"])):
        answer = await bapi.http.get(path, headers=pro)
        body = problem(answer, 429, "TOO_MANY_ATTEMPTS")
        retry_after = int(answer.headers["retry-after"])
        assert 0 < retry_after <= 600
        assert body["retry_after_seconds"] == str(retry_after)
    # Per pro account: another pro is not throttled.
    other = await bapi.sign_up()
    problem(
        await bapi.http.get(countermark_path("AAAAAA"), headers=other.headers),
        404,
        "COUNTERMARK_NOT_FOUND",
    )


async def test_the_pro_lists_the_bookings_of_their_venues(bapi, cinema, young):
    first = await bapi.book(young, await bapi.showtime(cinema, days=1))
    second = await bapi.book(young, await bapi.showtime(cinema, days=5))
    other_venue = await bapi.another_venue(cinema)
    elsewhere = await bapi.book(young, await bapi.showtime(other_venue, days=5))
    await bapi.http.post(f"/v1/bookings/{second['id']}/cancel", headers=young.headers)
    # Another cinema's bookings never show.
    stranger = await bapi.cinema()
    await bapi.book(young, await bapi.showtime(stranger, days=5))

    async def listed(**params) -> list[str]:
        answer = await bapi.http.get("/v1/pro/bookings", params=params, headers=cinema.pro.headers)
        assert answer.status_code == 200, answer.text
        return [item["booking_id"] for item in answer.json()["items"]]

    assert await listed() == [elsewhere["id"], second["id"], first["id"]]
    assert await listed(venue_id=cinema.venue["id"]) == [second["id"], first["id"]]
    assert await listed(status="CANCELLED") == [second["id"]]
    assert await listed(venue_id=cinema.venue["id"], status="CONFIRMED") == [first["id"]]
    assert await listed(venue_id=str(uuid.uuid4())) == []

    page = await bapi.http.get(
        "/v1/pro/bookings", params={"page_size": 2}, headers=cinema.pro.headers
    )
    assert len(page.json()["items"]) == 2
    rest = await bapi.http.get(
        "/v1/pro/bookings",
        params={"page_size": 2, "page_token": page.json()["next_page_token"]},
        headers=cinema.pro.headers,
    )
    assert [item["booking_id"] for item in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_page_token"] is None


async def test_an_unknown_status_filter_is_422(bapi, cinema, problem):
    answer = await bapi.http.get(
        "/v1/pro/bookings", params={"status": "PENDING"}, headers=cinema.pro.headers
    )
    problem(answer, 422, "VALIDATION_ERROR")


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_csv_export_holds_every_page(bapi, cinema, monkeypatch):
    monkeypatch.setattr(pro_bookings, "CSV_PAGE_SIZE", 2)
    bookings = []
    for _ in range(3):
        young = await bapi.sign_up_young()
        showtime = await bapi.showtime(cinema, days=1, price_cents=500)
        bookings.append(await bapi.book(young, showtime))
    used = await bapi.http.post(
        countermark_path(bookings[0]["countermark"], "use"), headers=cinema.pro.headers
    )
    assert used.is_success

    answer = await bapi.http.get(
        "/v1/pro/bookings", headers=cinema.pro.headers | {"Accept": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text.startswith("booking_id,countermark,status,")
    rows = read_csv(answer.text)
    assert [row["booking_id"] for row in rows] == [b["id"] for b in reversed(bookings)]
    used_row = rows[-1]
    assert used_row["status"] == "USED"
    assert used_row["used_at_utc"].endswith("Z")
    assert used_row["validated_by"] == "OFFERER"
    assert used_row["total_cents"] == "500"
    starts_at = datetime.fromisoformat(bookings[0]["starts_at"])
    local = datetime.fromisoformat(used_row["starts_at_local"])
    assert local == starts_at and local.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert used_row["starts_at_utc"] == bookings[0]["starts_at"]
    assert used_row["venue_name"] == cinema.venue["name"]


async def test_the_csv_export_escapes_and_defuses_cells(bapi, cinema, booking_sql):
    names = ['=HYPERLINK("http://evil.example")', 'Zoé "la", Grande\nJr']
    for first_name in names:
        young = await bapi.sign_up_young()
        await booking_sql(
            "UPDATE beneficiaries SET first_name = :name WHERE id = :id",
            name=first_name,
            id=young.id,
        )
        await bapi.book(young, await bapi.showtime(cinema, days=1))
    answer = await bapi.http.get(
        "/v1/pro/bookings", headers=cinema.pro.headers | {"Accept": "text/csv"}
    )
    rows = read_csv(answer.text)
    assert [row["beneficiary_first_name"] for row in rows] == [names[1], "'" + names[0]]


async def test_an_empty_csv_export_has_its_header(bapi, cinema):
    answer = await bapi.http.get(
        "/v1/pro/bookings",
        params={"status": "REIMBURSED"},
        headers=cinema.pro.headers | {"Accept": "text/csv"},
    )
    assert answer.status_code == 200
    assert answer.text.splitlines() == [answer.text.splitlines()[0]]
    assert answer.text.splitlines()[0].startswith("booking_id,")


@pytest.mark.parametrize(
    ("accept", "is_csv"),
    [
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("application/json, text/csv;q=0.5", False),
        ("text/csv, application/json;q=0.9", True),
        ("text/csv;q=0", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_csv_is_chosen_from_the_accept_header(accept, is_csv):
    from gateway.csv_export import wants_csv

    assert wants_csv(accept) is is_csv


async def test_auto_use_validates_bookings_48h_after_the_showtime(
    bapi, cinema, young, booking_sql, problem
):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    recent = await bapi.book(young, await bapi.showtime(cinema, days=1))
    # The showtime happened three days ago (stocks cannot be created in the past).
    await booking_sql(
        "UPDATE bookings SET starts_at = now() - interval '3 days' WHERE id = :id",
        id=booking["id"],
    )
    problem(
        await bapi.http.post("/v1/admin/jobs/auto-use", headers=cinema.pro.headers),
        403,
        "FORBIDDEN",
    )
    answer = await bapi.http.post("/v1/admin/jobs/auto-use", headers=bapi.admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["bookings_used"] >= 1
    listed = await bapi.http.get("/v1/pro/bookings", headers=cinema.pro.headers)
    by_id = {item["booking_id"]: item for item in listed.json()["items"]}
    assert (by_id[booking["id"]]["status"], by_id[booking["id"]]["validated_by"]) == (
        "USED",
        "AUTO",
    )
    assert by_id[recent["id"]]["status"] == "CONFIRMED"
    again = await bapi.http.post("/v1/admin/jobs/auto-use", headers=bapi.admin_headers)
    assert again.json() == {"bookings_used": 0}
