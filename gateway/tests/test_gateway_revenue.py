"""GET /v1/pro/revenue over HTTP, as JSON and CSV: real catalog and payments gRPC servers in this
process, the validated bookings written straight into the payments ledger, paid by a batch
crossing the 20 000 € threshold."""

import csv
import io
from datetime import UTC, datetime, timedelta

from payments.domain.rates import PARIS
from tests.support.catalog_helpers import siret_of
from tests.support.payments_helpers import Venue, store_bank_account, store_used_lines

YEAR = 2025


def at(day: int) -> datetime:
    return datetime(YEAR, 5, day, 18, tzinfo=UTC)


async def revenue(mapi, pro, **headers):
    return await mapi.http.get(
        "/v1/pro/revenue",
        params={"offerer_id": pro.offerer_id, "year": YEAR},
        headers=pro.headers | headers,
    )


async def test_a_members_revenue_as_json_and_csv_equals_what_the_batch_paid(mapi, payments_engine):
    pro = await mapi.sign_up()
    venue = await mapi.create_venue(pro, name="=Le Champo")
    ledger = Venue(venue["id"], pro.offerer_id, siren=pro.siren, siret=venue["siret"])
    await store_bank_account(payments_engine, ledger)
    await store_used_lines(payments_engine, ledger, [at(1)], total_cents=1_900_000)
    await store_used_lines(payments_engine, ledger, [at(2)], total_cents=200_000)
    cutoff = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    batch = await mapi.http.post(
        "/v1/admin/payment-batches", json={"cutoff": cutoff}, headers=mapi.admin_headers
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()["total_cents"] == 1_900_000 + 190_000

    answer = await revenue(mapi, pro)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["offerer_id"], body["year"]) == (pro.offerer_id, YEAR)
    [row] = body["venues"]
    assert row == {
        "venue_id": venue["id"],
        "venue_name": "=Le Champo",
        "siret": siret_of(pro.siren),
        "booked_cents": 0,
        "validated_cents": 2_100_000,
        "reimbursed_cents": batch.json()["total_cents"],
        "to_be_paid_cents": 0,
        "rate": {
            "revenue_cents": 2_100_000,
            "rate_bps": 9_500,
            "next_threshold_cents": 4_000_000,
            "next_rate_bps": 9_200,
        },
    }
    assert body["totals"]["reimbursed_cents"] == 2_090_000

    exported = await revenue(mapi, pro, accept="text/csv")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="revenue-2025.csv"' in exported.headers["content-disposition"]
    venue_row, total = list(csv.DictReader(io.StringIO(exported.text)))
    assert (venue_row["venue_name"], venue_row["reimbursed_cents"]) == ("'=Le Champo", "2090000")
    assert (venue_row["rate_bps"], venue_row["next_threshold_cents"]) == ("9500", "4000000")
    assert (total["venue_id"], total["validated_cents"], total["to_be_paid_cents"]) == (
        "TOTAL",
        "2100000",
        "0",
    )


async def test_revenue_is_for_members_only_and_a_year_in_range(mapi, problem):
    pro, stranger = await mapi.sign_up(), await mapi.sign_up()
    problem(await revenue(mapi, stranger_of(pro, stranger)), 404, "OFFERER_NOT_FOUND")
    answer = await mapi.http.get(
        "/v1/pro/revenue", params={"offerer_id": pro.offerer_id, "year": 1999}, headers=pro.headers
    )
    problem(answer, 422, "INVALID_YEAR")
    answer = await mapi.http.get(
        "/v1/pro/revenue", params={"offerer_id": pro.offerer_id, "year": "x"}, headers=pro.headers
    )
    problem(answer, 422, "VALIDATION_ERROR")
    problem(await mapi.http.get("/v1/pro/revenue", headers=pro.headers), 422, "VALIDATION_ERROR")
    current = await mapi.http.get(
        "/v1/pro/revenue", params={"offerer_id": pro.offerer_id}, headers=pro.headers
    )
    assert current.json()["year"] == datetime.now(PARIS).year


def stranger_of(pro, stranger):
    """`pro`'s offerer asked for with `stranger`'s token."""
    return type(pro)(pro.user_id, pro.offerer_id, pro.siren, pro.email, stranger.headers)


async def test_openapi_documents_the_revenue(money_client):
    spec = (await money_client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/pro/revenue"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert "INVALID_YEAR" in operation["responses"]["422"]["description"]
    assert "OFFERER_NOT_FOUND" in operation["responses"]["404"]["description"]
    schema = spec["components"]["schemas"]["VenueRevenueOut"]
    assert {"booked_cents", "validated_cents", "reimbursed_cents", "to_be_paid_cents", "rate"} <= (
        schema["properties"].keys()
    )
