"""The money endpoints over HTTP: venues' bank accounts and payments for pros, payment batches
and their SEPA files for admins. Real catalog and payments gRPC servers in this process; the
bookings the batches pay are written straight into the payments ledger."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from gateway.settings import GatewaySettings
from payments.api.batches import CHUNK_BYTES
from tests.support.catalog_helpers import siret_of
from tests.support.payments_helpers import (
    IBAN_SAMPLE,
    Venue,
    new_iban,
    new_venue,
    store_bank_account,
    store_used_lines,
)

BANK_ACCOUNT = {"iban": IBAN_SAMPLE, "bic": "AGRIFRPP", "holder_name": "Cinéma du Centre"}
PAIN_001 = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"
# The first bracket of the rate scale: revenue up to this is reimbursed at 100 %.
FULL_RATE_CEILING_CENTS = 2_000_000
M = timedelta(minutes=1)


def bank_account_path(venue_id: str) -> str:
    return f"/v1/pro/venues/{venue_id}/bank-account"


async def put_bank_account(api, pro, venue: dict, **fields) -> dict:
    path = bank_account_path(venue["id"])
    answer = await api.http.put(path, json=BANK_ACCOUNT | fields, headers=pro.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ledger_venue(pro, venue: dict) -> Venue:
    return Venue(venue["id"], pro.offerer_id, siren=pro.siren, siret=venue["siret"])


async def create_batch(api, cutoff: datetime) -> dict:
    answer = await api.http.post(
        "/v1/admin/payment-batches",
        json={"cutoff": cutoff.isoformat()},
        headers=api.admin_headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- bank accounts --------------------------------------------------------------------------


async def test_a_pro_gives_the_venues_bank_account(mapi):
    pro = await mapi.sign_up()
    venue = await mapi.create_venue(pro)

    account = await put_bank_account(mapi, pro, venue, iban=IBAN_SAMPLE.lower())

    assert account == account | {
        "venue_id": venue["id"],
        "bic": "AGRIFRPPXXX",  # the 8-character BIC of the head office, in 11
        "holder_name": "Cinéma du Centre",
        "status": "ACCEPTED",
    }
    masked = account["iban_masked"]
    assert masked.startswith("FR") and masked.replace(" ", "").endswith("0189")
    assert "3000" not in masked
    again = await mapi.http.get(bank_account_path(venue["id"]), headers=pro.headers)
    assert (again.status_code, again.json()) == (200, account)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"iban": "FR76 3000 6000 0112 3456 7890 188"}, "INVALID_IBAN"),  # checksum
        ({"iban": "FR76 3000 6000 0112"}, "INVALID_IBAN"),  # length of the country
        ({"iban": "not an iban"}, "INVALID_IBAN"),
        ({"bic": "AGRI"}, "INVALID_BIC"),
        ({"bic": "AGRIFRPP!!"}, "INVALID_BIC"),
    ],
)
async def test_bad_bank_details_are_refused(mapi, problem, fields, code):
    pro = await mapi.sign_up()
    venue = await mapi.create_venue(pro)

    answer = await mapi.http.put(
        bank_account_path(venue["id"]), json=BANK_ACCOUNT | fields, headers=pro.headers
    )

    problem(answer, 422, code)
    missing = await mapi.http.get(bank_account_path(venue["id"]), headers=pro.headers)
    problem(missing, 404, "BANK_ACCOUNT_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"iban": IBAN_SAMPLE, "bic": "AGRIFRPP"},
        BANK_ACCOUNT | {"iban": 7630006000011234567890189},
        BANK_ACCOUNT | {"currency": "EUR"},
        BANK_ACCOUNT | {"holder_name": "nul\x00"},
        [BANK_ACCOUNT],
    ],
)
async def test_a_malformed_body_is_a_422(mapi, problem, body):
    pro = await mapi.sign_up()
    venue = await mapi.create_venue(pro)

    answer = await mapi.http.put(bank_account_path(venue["id"]), json=body, headers=pro.headers)

    problem(answer, 422, "VALIDATION_ERROR")


async def test_another_offerers_venue_is_not_found(mapi, problem):
    owner, other = await mapi.sign_up(), await mapi.sign_up()
    venue = await mapi.create_venue(owner)
    await put_bank_account(mapi, owner, venue)

    for venue_id in (venue["id"], str(uuid.uuid4()), "not-a-uuid"):
        path = bank_account_path(venue_id)
        rival = BANK_ACCOUNT | {"holder_name": "Le Rival"}
        put = await mapi.http.put(path, json=rival, headers=other.headers)
        problem(put, 404, "VENUE_NOT_FOUND")
        problem(await mapi.http.get(path, headers=other.headers), 404, "VENUE_NOT_FOUND")
    # The owner's account is untouched.
    mine = await mapi.http.get(bank_account_path(venue["id"]), headers=owner.headers)
    assert mine.json()["holder_name"] == BANK_ACCOUNT["holder_name"]


async def test_money_needs_the_right_role(mapi, issuer, problem):
    young = {"Authorization": f"Bearer {issuer.issue(str(uuid.uuid4()), 'beneficiary')}"}
    pro = await mapi.sign_up()
    venue_path = bank_account_path(str(uuid.uuid4()))

    problem(await mapi.http.put(venue_path, json=BANK_ACCOUNT), 401, "UNAUTHENTICATED")
    problem(await mapi.http.put(venue_path, json=BANK_ACCOUNT, headers=young), 403, "FORBIDDEN")
    listing = await mapi.http.get(
        "/v1/pro/payments", params={"offerer_id": pro.offerer_id}, headers=young
    )
    problem(listing, 403, "FORBIDDEN")
    for headers in (pro.headers, young):
        batch = await mapi.http.post("/v1/admin/payment-batches", json={}, headers=headers)
        problem(batch, 403, "FORBIDDEN")
    problem(await mapi.http.post("/v1/admin/payment-batches"), 401, "UNAUTHENTICATED")


# --- batches and payments -------------------------------------------------------------------


@pytest.fixture
async def paid(mapi, payments_engine):
    """A pro with two venues that each have a bank account and used bookings, and the batch
    that paid them. The first venue crosses the first bracket: its last booking is paid 95 %."""
    pro = await mapi.sign_up()
    first = await mapi.create_venue(pro)
    second = await mapi.create_venue(pro, siret=siret_of(pro.siren, 2), name="Salle 2")
    for venue in (first, second):  # two IBANs: two SEPA transactions
        await put_bank_account(mapi, pro, venue, iban=new_iban())
    bookings = {}
    for name, venue, minutes_ago, total in (
        ("big", first, 3, FULL_RATE_CEILING_CENTS - 100),
        ("small", first, 2, 800),
        ("other", second, 2, 650),
    ):
        [bookings[name]] = await store_used_lines(
            payments_engine, ledger_venue(pro, venue), [now() - minutes_ago * M], total_cents=total
        )
    batch = await create_batch(mapi, now())
    return pro, first, second, batch, bookings


async def test_a_batch_pays_each_bank_account(mapi, paid):
    _, first, second, batch, _ = paid
    big_payment = FULL_RATE_CEILING_CENTS - 100 + 760

    assert batch == batch | {
        "payment_count": 2,
        "booking_count": 3,
        "total_cents": big_payment + 650,
        "created": True,
    }
    assert {"id", "label", "cutoff", "execution_date"} <= batch.keys()
    answer = await mapi.http.get(
        f"/v1/admin/payment-batches/{batch['id']}", headers=mapi.admin_headers
    )
    assert answer.status_code == 200, answer.text
    made = answer.json()
    assert made | {"created": True} == batch | {"payments": made["payments"]}
    amounts = {p["venue_id"]: p["amount_cents"] for p in made["payments"]}
    assert amounts == {first["id"]: big_payment, second["id"]: 650}


async def test_the_same_cutoff_answers_the_same_batch(mapi, paid):
    batch = paid[3]

    again = await create_batch(mapi, datetime.fromisoformat(batch["cutoff"]))

    assert again == batch | {"created": False}


async def test_a_pro_sees_the_payments_page_by_page(mapi, paid):
    pro, first, second, batch, _ = paid
    path, seen, token = "/v1/pro/payments", [], None

    for _ in range(2):
        params = {"offerer_id": pro.offerer_id, "page_size": 1} | (
            {"page_token": token} if token else {}
        )
        answer = await mapi.http.get(path, params=params, headers=pro.headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += page["items"]
        token = page["next_page_token"]
    assert token is None
    assert {p["venue_id"] for p in seen} == {first["id"], second["id"]}
    for payment in seen:
        assert payment.keys() >= {
            "id",
            "batch_id",
            "venue_id",
            "invoice_reference",
            "amount_cents",
            "booking_count",
            "created_at",
        }
        assert payment["batch_id"] == batch["id"]
        assert payment["invoice_reference"].startswith("F")
        assert payment["created_at"].endswith("Z")


async def test_a_payment_shows_each_bookings_rate(mapi, paid):
    pro, first, _, _, bookings = paid
    listing = await mapi.http.get(
        "/v1/pro/payments", params={"offerer_id": pro.offerer_id}, headers=pro.headers
    )
    [payment] = [p for p in listing.json()["items"] if p["venue_id"] == first["id"]]

    answer = await mapi.http.get(f"/v1/pro/payments/{payment['id']}", headers=pro.headers)

    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail | {"lines": []} == payment | {"offerer_id": pro.offerer_id, "lines": []}
    lines = {line["booking_id"]: line for line in detail["lines"]}
    assert lines[str(bookings["big"])] == lines[str(bookings["big"])] | {
        "total_cents": FULL_RATE_CEILING_CENTS - 100,
        "rate": 1,
        "reimbursed_cents": FULL_RATE_CEILING_CENTS - 100,
    }
    small = lines[str(bookings["small"])]
    assert small == small | {"total_cents": 800, "rate": 0.95, "reimbursed_cents": 760}
    assert '"rate":0.95' in answer.text  # a JSON number, not a string


async def test_another_offerers_payments_are_not_found(mapi, paid, problem):
    stranger = await mapi.sign_up()
    pro = paid[0]
    listing = await mapi.http.get(
        "/v1/pro/payments", params={"offerer_id": pro.offerer_id}, headers=pro.headers
    )
    payment_id = listing.json()["items"][0]["id"]

    theirs = await mapi.http.get(
        "/v1/pro/payments", params={"offerer_id": pro.offerer_id}, headers=stranger.headers
    )
    problem(theirs, 404, "OFFERER_NOT_FOUND")
    for unknown in (payment_id, str(uuid.uuid4()), "not-a-uuid"):
        detail = await mapi.http.get(f"/v1/pro/payments/{unknown}", headers=stranger.headers)
        problem(detail, 404, "PAYMENT_NOT_FOUND")
    mine = await mapi.http.get(
        "/v1/pro/payments", params={"offerer_id": stranger.offerer_id}, headers=stranger.headers
    )
    assert (mine.status_code, mine.json()) == (200, {"items": [], "next_page_token": None})
    no_offerer = await mapi.http.get("/v1/pro/payments", headers=stranger.headers)
    problem(no_offerer, 422, "VALIDATION_ERROR")


async def test_the_sepa_file_is_streamed_as_xml(mapi, paid):
    batch = paid[3]

    answer = await mapi.http.get(
        f"/v1/admin/payment-batches/{batch['id']}/sepa.xml", headers=mapi.admin_headers
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/xml"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.xml"')
    assert batch["id"] in disposition
    root = etree.fromstring(answer.content, etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{PAIN_001}Document"
    amounts = sorted(amount.text for amount in root.iter(f"{PAIN_001}InstdAmt"))
    assert amounts == ["20006.60", "6.50"]


async def test_a_sepa_file_of_many_chunks_comes_whole(mapi, payments_engine):
    # Venues known to the ledger only: a batch asks the catalog nothing.
    venues = [new_venue(siret=f"{index:014d}") for index in range(1, 121)]
    for venue in venues:
        await store_bank_account(payments_engine, venue)
        await store_used_lines(payments_engine, venue, [now() - M], total_cents=700)
    batch = await create_batch(mapi, now())

    answer = await mapi.http.get(
        f"/v1/admin/payment-batches/{batch['id']}/sepa.xml", headers=mapi.admin_headers
    )

    assert answer.status_code == 200, answer.text
    assert len(answer.content) > CHUNK_BYTES  # two chunks at least
    root = etree.fromstring(answer.content, etree.XMLParser(resolve_entities=False))
    amounts = [amount.text for amount in root.iter(f"{PAIN_001}InstdAmt")]
    assert amounts == ["7.00"] * len(venues)


@pytest.mark.parametrize(
    ("cutoff", "code"),
    [
        ((datetime.now(UTC) + timedelta(days=1)).isoformat(), "INVALID_CUTOFF"),
        ("2026-11-16T00:00:00", "VALIDATION_ERROR"),  # naive
        ("yesterday", "VALIDATION_ERROR"),
        (20261116, "VALIDATION_ERROR"),  # not seconds since 1970
    ],
)
async def test_a_bad_cutoff_is_a_422(mapi, problem, cutoff, code):
    answer = await mapi.http.post(
        "/v1/admin/payment-batches", json={"cutoff": cutoff}, headers=mapi.admin_headers
    )

    problem(answer, 422, code)


async def test_without_a_cutoff_the_batch_pays_until_today_midnight_in_paris(mapi):
    answer = await mapi.http.post("/v1/admin/payment-batches", headers=mapi.admin_headers)

    assert answer.status_code == 201, answer.text
    batch = answer.json()
    paris_midnight = datetime.now(ZoneInfo("Europe/Paris")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert datetime.fromisoformat(batch["cutoff"]) == paris_midnight
    assert (batch["payment_count"], batch["total_cents"]) == (0, 0)


async def test_an_unknown_batch_is_not_found(mapi, problem):
    for batch_id in (str(uuid.uuid4()), "not-a-uuid"):
        for suffix in ("", "/sepa.xml"):
            answer = await mapi.http.get(
                f"/v1/admin/payment-batches/{batch_id}{suffix}", headers=mapi.admin_headers
            )
            problem(answer, 404, "BATCH_NOT_FOUND")


# --- readiness ------------------------------------------------------------------------------


def test_the_payments_service_is_an_upstream_by_default(monkeypatch):
    for name in ("UPSTREAMS", "PAYMENTS_ADDR"):
        monkeypatch.delenv(name, raising=False)
    assert GatewaySettings().upstream_addresses()["payments"] == "127.0.0.1:50054"
    monkeypatch.setenv("PAYMENTS_ADDR", "payments.internal:50054")
    assert GatewaySettings().upstream_addresses()["payments"] == "payments.internal:50054"


async def test_readyz_checks_the_payments_service(client_with, money_gateway_settings, problem):
    async with client_with(money_gateway_settings) as client:
        ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    down = money_gateway_settings.model_copy(update={"payments_addr": "127.0.0.1:9"})
    async with client_with(down) as client:
        body = problem(await client.get("/readyz"), 503, "UPSTREAMS_NOT_READY")
    assert body["upstreams"] == ["payments"]
