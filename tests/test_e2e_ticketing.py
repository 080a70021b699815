"""End to end over HTTP: a cinema linked to its ticketing system (a fake CDS speaking CDS's wire
format) imports its showtimes, and a young person's booking takes a real seat there: the answer
and the email show the system's barcode and seat, the QR code encodes the barcode, the counter
finds the booking by it, and a cancellation cancels in the system first. Sold out there: 409
SOLD_OUT; the system failing: 503, the seats released and the credit untouched. A ticket the
system issued after the saga gave up waiting (an orphan) is cancelled within a minute.

Every process of `make run` runs for real, with the import service (see conftest.full_stack).
"""

import asyncio
import itertools
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_helpers import (
    PASSWORD,
    eventually,
    ok,
    problem,
    publish_cinema,
    sign_up_young,
    token,
)
from playwright.async_api import expect

from tests.support.ticketing_fakes import FakeCds

pytestmark = pytest.mark.e2e

SHOWS = itertools.count(101)
PRO_EMAIL = f"guichet-{uuid.uuid4().hex[:8]}@cds.example.com"


@pytest.fixture(scope="module")
def fake_cds() -> Iterator[FakeCds]:
    with FakeCds("compte-pc", "cine-42", "jeton-cds") as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture(scope="module")
def stack_environment(fake_cds) -> dict[str, dict[str, str]]:
    return {
        "importer": {"CDS_API_URL": fake_cds.url, "TICKETING_TIMEOUT_SECONDS": "5"},
        # The saga waits 1 s for the system; PENDING ticketing bookings and orphan tickets are
        # settled every half second, past 2 s.
        "booking": {
            "TICKETING_TIMEOUT_SECONDS": "1",
            "RECONCILE_INTERVAL_SECONDS": "0.5",
            "RECONCILE_TICKETING_AFTER_SECONDS": "2",
        },
    }


@pytest.fixture(scope="module")
async def http(full_stack) -> Iterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=full_stack.base_url, timeout=30) as client:
        yield client  # type: ignore[misc]


@pytest.fixture(scope="module")
async def admin(http, full_stack) -> dict:
    return await token(http, "/v1/pro/auth/token", **full_stack.admin)


@pytest.fixture(scope="module")
async def cinema(http, admin, fake_cds) -> tuple[dict, dict]:
    """A pro's venue linked to the fake CDS account."""
    pro, venue = await publish_cinema(http, admin, "resa@cds.example.com", PRO_EMAIL)
    link = {
        "system": "CDS",
        "cinema_id": fake_cds.cinema_id,
        "account_id": fake_cds.account_id,
        "secret": fake_cds.token,
    }
    await ok(http.put(f"/v1/pro/venues/{venue['id']}/ticketing", json=link, headers=pro))
    return pro, venue


async def imported_showtime(
    http, cinema, fake_cds, *, seats: int = 50, starts_in: timedelta = timedelta(days=3)
) -> tuple[int, dict]:
    """A new show in the system, imported by an on-demand sync: (its CDS id, its stock)."""
    pro, venue = cinema
    show_id = next(SHOWS)
    starts_at = datetime.now(UTC).replace(microsecond=0) + starts_in
    fake_cds.add_show(show_id, 900 + show_id, f"Film {show_id}", starts_at, seats=seats)
    syncs = f"/v1/pro/venues/{venue['id']}/allocine/syncs"
    sync = await ok(http.post(syncs, headers=pro | {"Idempotency-Key": str(uuid.uuid4())}), 202)

    async def finished() -> bool:
        page = await ok(http.get(syncs, headers=pro))
        done = next(item for item in page["items"] if item["id"] == sync["id"])
        return done["status"] == "SUCCEEDED"

    await eventually(finished)
    offers = await ok(http.get(f"/v1/pro/offers?venue_id={venue['id']}", headers=pro))
    [offer] = [o for o in offers["items"] if o["title"] == f"Film {show_id}"]
    stocks = await ok(http.get(f"/v1/pro/offers/{offer['id']}/stocks", headers=pro))
    [stock] = stocks["items"]
    return show_id, stock


def sold(fake_cds: FakeCds, show_id: int) -> dict[str, bool]:
    """The system's tickets of a show: barcode → cancelled."""
    return {
        barcode: ticket["canceled"]
        for barcode, ticket in fake_cds.transactions.items()
        if ticket["show"] == show_id
    }


async def remaining_credit(http, young) -> int:
    return (await ok(http.get("/v1/me", headers=young)))["credit"]["remaining_cents"]


async def booked_quantity(http, cinema, stock) -> int:
    pro, _ = cinema
    stocks = await ok(http.get(f"/v1/pro/offers/{stock['offer_id']}/stocks", headers=pro))
    return next(s["booked_quantity"] for s in stocks["items"] if s["id"] == stock["id"])


async def test_a_booking_takes_a_seat_in_the_system_and_its_barcode_works_the_counter(
    http, admin, cinema, fake_cds, mailbox
):
    pro, _ = cinema
    show_id, stock = await imported_showtime(http, cinema, fake_cds)
    assert stock["price_cents"] == 500  # the system's pass Culture tariff
    young_person, young = await sign_up_young(http, admin)
    booked = await ok(
        http.post("/v1/bookings", json={"stock_id": stock["id"], "quantity": 2}, headers=young),
        201,
    )
    tickets = booked["external_tickets"]
    assert len(tickets) == 2 and all(t["seat"] for t in tickets)
    assert sold(fake_cds, show_id) == {t["barcode"]: False for t in tickets}
    # The contract's payloads keep their formats; the email's QR code carries the barcode.
    assert booked["qr_payload"] == f"PASSCULTURE:v3;TOKEN:{booked['countermark']}"
    assert booked["signed_qr_payload"].startswith("PASSCULTURE:v4;")
    assert await booked_quantity(http, cinema, stock) == 2
    assert await remaining_credit(http, young) == 30_000 - 1_000

    def confirmation() -> list:
        return [
            message
            for message in mailbox.to(young_person["email"])
            if "confirmée" in message["Subject"]
        ]

    [email] = await eventually(confirmation)
    text = email.get_body(("plain",)).get_content()
    for ticket in tickets:
        assert f"Billet : {ticket['barcode']} (place {ticket['seat']})" in text

    # Cancelling cancels in the system first.
    await ok(http.post(f"/v1/bookings/{booked['id']}/cancel", headers=young))
    assert sold(fake_cds, show_id) == {t["barcode"]: True for t in tickets}
    assert await remaining_credit(http, young) == 30_000

    # The counter finds a booking by the system's barcode, as by its countermark (a showtime
    # in two hours: the booking can no longer be cancelled, so it can be validated).
    _, soon = await imported_showtime(http, cinema, fake_cds, starts_in=timedelta(hours=2))
    booked = await ok(
        http.post("/v1/bookings", json={"stock_id": soon["id"], "quantity": 1}, headers=young),
        201,
    )
    [ticket] = booked["external_tickets"]
    counter = f"/v1/pro/countermarks/{ticket['barcode']}"
    found = await ok(http.get(counter, headers=pro))
    assert (found["booking_id"], found["external_tickets"]) == (booked["id"], [ticket])
    used = await ok(http.post(f"{counter}/use", headers=pro))
    assert used["status"] == "USED"
    unknown = await http.get("/v1/pro/countermarks/999999999999", headers=pro)
    problem(unknown, 404, "COUNTERMARK_NOT_FOUND")


async def test_sold_out_in_the_system_is_a_409_with_nothing_held(http, admin, cinema, fake_cds):
    show_id, stock = await imported_showtime(http, cinema, fake_cds, seats=5)
    fake_cds.show(show_id)["internetremainingplace"] = 0  # sold at the box office since
    _, young = await sign_up_young(http, admin)
    answer = await http.post(
        "/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=young
    )
    problem(answer, 409, "SOLD_OUT")
    assert await booked_quantity(http, cinema, stock) == 0
    assert await remaining_credit(http, young) == 30_000
    assert sold(fake_cds, show_id) == {}


async def test_a_failing_system_is_a_503_and_the_same_key_books_once_it_is_back(
    http, admin, cinema, fake_cds
):
    show_id, stock = await imported_showtime(http, cinema, fake_cds)
    _, young = await sign_up_young(http, admin)
    headers = young | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"stock_id": stock["id"], "quantity": 1}
    fake_cds.fail_next("5xx")
    answer = await http.post("/v1/bookings", json=body, headers=headers)
    problem(answer, 503, "TICKETING_UNAVAILABLE")
    assert answer.headers["Retry-After"]
    assert await booked_quantity(http, cinema, stock) == 0
    assert await remaining_credit(http, young) == 30_000
    booked = await ok(http.post("/v1/bookings", json=body, headers=headers), 201)
    assert sold(fake_cds, show_id) == {booked["external_tickets"][0]["barcode"]: False}
    assert await booked_quantity(http, cinema, stock) == 1


async def test_a_ticket_issued_after_the_saga_gave_up_is_cancelled_within_a_minute(
    http, admin, cinema, fake_cds
):
    show_id, stock = await imported_showtime(http, cinema, fake_cds)
    _, young = await sign_up_young(http, admin)
    fake_cds.fail_next("slow")  # the sale is made, its answer comes after the saga's deadline
    answer = await http.post(
        "/v1/bookings", json={"stock_id": stock["id"], "quantity": 1}, headers=young
    )
    problem(answer, 503, "TICKETING_UNAVAILABLE")
    assert await booked_quantity(http, cinema, stock) == 0
    assert await remaining_credit(http, young) == 30_000

    def orphan() -> list[bool]:
        return list(sold(fake_cds, show_id).values())

    # Control: the orphan exists in the system once the late answer came (sold, or cancelled
    # already): without the orphan cancellation it would stay sold.
    await eventually(lambda: orphan() in ([False], [True]))
    await eventually(lambda: orphan() == [True], within=60)


async def test_the_counter_page_finds_a_booking_by_its_barcode(
    http, admin, cinema, fake_cds, full_stack, browser
):
    _, soon = await imported_showtime(http, cinema, fake_cds, starts_in=timedelta(hours=2))
    _, young = await sign_up_young(http, admin)
    booked = await ok(
        http.post("/v1/bookings", json={"stock_id": soon["id"], "quantity": 1}, headers=young),
        201,
    )
    [ticket] = booked["external_tickets"]
    context = await browser.new_context(locale="fr-FR")
    page = await context.new_page()
    await page.goto(f"{full_stack.base_url}/desk/")
    await page.get_by_label("Adresse e-mail").fill(PRO_EMAIL)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.get_by_label("Contremarque").fill(ticket["barcode"])
    await page.get_by_role("button", name="Vérifier").click()
    await expect(page.locator("#result-status")).to_have_text(
        "Réservation valide : vous pouvez valider la contremarque."
    )
    result = page.get_by_role("region", name="Résultat")
    await expect(result).to_contain_text(f"{ticket['barcode']} (place {ticket['seat']})")
    await page.get_by_role("button", name="Valider la contremarque").click()
    await expect(page.locator("#result-status")).to_contain_text("Contremarque validée le")
    await context.close()


async def test_concurrent_bookings_never_sell_more_than_the_systems_seats(
    http, admin, cinema, fake_cds
):
    """The catalog counts 3 seats, the system has 2 left (one sold at the box office since the
    import): of 8 young people booking at once, 2 get a ticket, the others a 409 with nothing
    held, and the system sold exactly the 2 tickets the confirmed bookings hold."""
    show_id, stock = await imported_showtime(http, cinema, fake_cds, seats=3)
    fake_cds.show(show_id)["internetremainingplace"] = 2
    people = [young for _, young in [await sign_up_young(http, admin) for _ in range(8)]]
    body = {"stock_id": stock["id"], "quantity": 1}
    answers = await asyncio.gather(
        *(http.post("/v1/bookings", json=body, headers=young) for young in people)
    )
    booked = [answer.json() for answer in answers if answer.status_code == 201]
    refused = [answer for answer in answers if answer.status_code != 201]
    assert len(booked) == 2
    for answer in refused:  # the system's sell-out, or its refusal of a sale raced out
        assert problem(answer, 409, answer.json()["code"])["code"] in ("SOLD_OUT", "NOT_BOOKABLE")
    held = {ticket["barcode"] for booking in booked for ticket in booking["external_tickets"]}
    assert {code for code, cancelled in sold(fake_cds, show_id).items() if not cancelled} == held
    assert await booked_quantity(http, cinema, stock) == 2
    credits = sorted([await remaining_credit(http, young) for young in people])
    assert credits == [29_500] * 2 + [30_000] * 6


async def test_a_frozen_import_service_books_nothing_and_leaves_no_ticket_sold(
    http, admin, cinema, fake_cds, full_stack
):
    """The import service stops answering (SIGSTOP) while a booking asks for its tickets: the
    booking fails cleanly; once it runs again no ticket stays sold (the request that outlived
    its deadline is not served; were it served, its tickets would be orphans, cancelled as in
    the test above)."""
    show_id, stock = await imported_showtime(http, cinema, fake_cds)
    _, young = await sign_up_young(http, admin)
    [importer] = [p for p in full_stack.processes if p.name == "importer"]
    importer.popen.send_signal(signal.SIGSTOP)
    try:
        body = {"stock_id": stock["id"], "quantity": 1}
        answer = await http.post("/v1/bookings", json=body, headers=young)
    finally:
        importer.popen.send_signal(signal.SIGCONT)
    problem(answer, 503, "TICKETING_UNAVAILABLE")
    assert await booked_quantity(http, cinema, stock) == 0
    assert await remaining_credit(http, young) == 30_000
    await asyncio.sleep(5)  # the late BookTickets, if any, and the orphan loop's passes

    def nothing_sold() -> bool:
        return not any(not cancelled for cancelled in sold(fake_cds, show_id).values())

    await eventually(nothing_sold, within=60)
    mine = await ok(http.get("/v1/bookings", headers=young))
    assert mine["items"] == []  # FAILED bookings are not listed
