"""The CDS and Boost adapters against their local fakes over real HTTP, failures included."""

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import SecretStr

from importer.ticketing import Account, Refused, SoldOut, SystemUnavailable
from importer.ticketing.boost import BoostClient
from importer.ticketing.cds import CdsClient
from importer.ticketing.http import http_client
from tests.support.ticketing_fakes import FakeBoost, FakeCds

PARIS = timezone(timedelta(hours=1))
TOMORROW = date.today() + timedelta(days=1)
EVENING = datetime.combine(TOMORROW, datetime.min.time(), PARIS).replace(hour=20)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(0.5) as client:
        yield client


@pytest.fixture
def fake_cds() -> Iterator[FakeCds]:
    with FakeCds("moncinema", "cine-1", "cds-token") as fake:
        fake.hang_seconds = 1.0
        fake.add_show(1, 52, "Le Voyage", EVENING, seats=3, labels=("VO", "3D"))
        fake.add_show(2, 52, "Le Voyage", EVENING + timedelta(hours=2), tariffs=(5,))
        fake.add_show(3, 53, "Hors fenêtre", EVENING + timedelta(days=30))
        yield fake


@pytest.fixture
def cds(http, fake_cds) -> CdsClient:
    return CdsClient(http, fake_cds.url, Account("cine-1", "moncinema", SecretStr("cds-token")))


async def test_cds_showtimes_are_those_with_a_pass_culture_tariff_in_the_window(cds):
    [show] = await cds.showtimes(date.today(), 7)
    assert (show.ref, show.film_ref, show.film_title, show.duration_minutes) == (
        "1",
        "52",
        "Le Voyage",
        120,
    )
    assert (show.starts_at, show.seats_remaining, show.features) == (EVENING, 3, ("VO", "3D"))
    assert [(t.ref, t.price_cents) for t in show.tariffs] == [("1:4", 500)]


async def test_cds_books_then_cancels_and_cancelling_again_is_no_error(cds, fake_cds):
    tickets = await cds.book("1", "1:4", 2)
    assert len(tickets) == 2 and all(t.barcode.isdigit() and t.seat for t in tickets)
    assert fake_cds.show(1)["internetremainingplace"] == 1
    _, path, body = fake_cds.requests[-1]
    assert path == "/moncinema/transaction/create"
    assert body["paiementCollection"][0]["paiementtypeid"] == {"id": 21}
    await cds.cancel([t.barcode for t in tickets])
    await cds.cancel([t.barcode for t in tickets])
    assert fake_cds.show(1)["internetremainingplace"] == 3


async def test_cds_refuses_more_seats_than_left(cds, fake_cds):
    with pytest.raises(SoldOut):
        await cds.book("1", "1:4", 4)
    assert not fake_cds.transactions


@pytest.mark.parametrize("fault", ["5xx", "timeout"])
async def test_cds_failures_are_unavailable(cds, fake_cds, fault):
    fake_cds.fail_next(fault)
    with pytest.raises(SystemUnavailable):
        await cds.book("1", "1:4", 1)
    assert not fake_cds.transactions


async def test_cds_lost_answer_leaves_a_ticket_the_system_issued(cds, fake_cds):
    fake_cds.fail_next("lost")
    with pytest.raises(SystemUnavailable):
        await cds.book("1", "1:4", 1)
    assert [t["canceled"] for t in fake_cds.transactions.values()] == [False]


async def test_cds_wrong_token_is_refused(http, fake_cds):
    wrong = CdsClient(http, fake_cds.url, Account("cine-1", "moncinema", SecretStr("nope")))
    with pytest.raises(Refused):
        await wrong.showtimes(date.today(), 7)


@pytest.fixture
def fake_boost() -> Iterator[FakeBoost]:
    with FakeBoost("cine-2", "vendor", "boost-password") as fake:
        fake.hang_seconds = 1.0
        fake.add_showtime(10, 7, "BLACK PANTHER", EVENING, seats=2, version="VF", format_title="3D")
        fake.add_showtime(11, 7, "BLACK PANTHER", EVENING + timedelta(hours=3))
        fake.add_showtime(12, 8, "SANS PCU", EVENING, pricings=((200, "PLE", "11.00"),))
        yield fake


@pytest.fixture
def boost(http, fake_boost) -> BoostClient:
    account = Account("cine-2", "vendor", SecretStr("boost-password"))
    return BoostClient(http, fake_boost.url, account)


async def test_boost_showtimes_follow_pages_and_keep_pass_culture_pricings(boost, fake_boost):
    shows = await boost.showtimes(date.today(), 7)
    assert [s.ref for s in shows] == ["10", "11"]
    assert (shows[0].features, shows[0].seats_remaining, shows[0].visa) == (
        ("VF", "3D"),
        2,
        "100007",
    )
    assert [(t.ref, t.label, t.price_cents) for t in shows[0].tariffs] == [("108", "PCU", 600)]
    pages = [q for m, p, q in fake_boost.requests if "between" in p]
    assert len(pages) == 2  # two per page


async def test_boost_books_one_code_per_sale_and_cancels(boost, fake_boost):
    tickets = await boost.book("10", "108", 2)
    assert len({t.barcode for t in tickets}) == 1 and [t.seat for t in tickets] == ["B_1", "B_2"]
    assert fake_boost.showtime(10)["soldOut"]
    with pytest.raises(SoldOut):
        await boost.book("10", "108", 1)
    await boost.cancel([tickets[0].barcode])
    assert fake_boost.showtime(10)["numberSeatsRemaining"] == 2


async def test_boost_5xx_is_unavailable_and_bad_password_refused(boost, http, fake_boost):
    fake_boost.fail_next("5xx")
    with pytest.raises(SystemUnavailable):
        await boost.book("10", "108", 1)
    wrong = BoostClient(http, fake_boost.url, Account("cine-2", "vendor", SecretStr("x")))
    with pytest.raises(Refused):
        await wrong.showtimes(date.today(), 7)


async def test_boost_logs_in_again_once_when_its_session_expired(boost, fake_boost):
    await boost.showtimes(date.today(), 7)
    fake_boost.expire_tokens()
    tickets = await boost.book("10", "108", 1)
    assert len(tickets) == 1 and fake_boost.logins == 2
    await boost.cancel([tickets[0].barcode])
    assert fake_boost.logins == 2  # the new session is kept


async def test_boost_refuses_after_a_second_401(boost, fake_boost):
    fake_boost.tokens_expire_at_once = True
    with pytest.raises(Refused):
        await boost.book("10", "108", 1)
    assert fake_boost.logins == 2  # one login, then one more after the 401, no loop
    assert not fake_boost.sales
