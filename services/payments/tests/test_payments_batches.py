"""Payment batches through gRPC: what is paid, once, to whom, at which rate; the events, the
SEPA file; who may ask."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from lxml import etree
from payments_event_helpers import paid_bookings
from sqlalchemy import select

from passculture.payments.v1 import batch_service_pb2 as pb
from passculture.payments.v1 import events_pb2
from passculture.payments.v1 import payment_service_pb2 as payment_pb
from payments import models
from payments.batch.run import BOOKINGS_PER_EVENT
from payments.domain.rates import PARIS
from payments.sepa import pain001
from tests.support.catalog_helpers import auth, reason_of
from tests.support.payments_helpers import (
    create_batch,
    new_venue,
    sepa_file,
    store_bank_account,
    store_used_lines,
)

NS = {"p": pain001.NAMESPACE}


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def year_prefix() -> str:
    return f"F{datetime.now(PARIS).year % 100:02d}"


async def paid_booking_ids(engine) -> set[uuid.UUID]:
    return set(await paid_bookings(engine))


async def reimbursed_events(engine) -> list[events_pb2.BookingsReimbursed]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(models.outbox.c.routing_key, models.outbox.c.payload).order_by(
                models.outbox.c.created_at
            )
        )
        events = []
        for key, payload in rows:
            assert key == "booking.reimbursed"
            events.append(events_pb2.BookingsReimbursed.FromString(payload))
        return events


async def expect_error(call, code: grpc.StatusCode, reason: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


async def test_a_batch_pays_each_bank_account_what_is_due_once(payments, payments_engine, admin):
    rex, melies, no_account = new_venue(), new_venue(), new_venue()
    for venue in (rex, melies):
        await store_bank_account(payments_engine, venue)
    cutoff = ago(hours=1)
    due_rex = await store_used_lines(payments_engine, rex, [ago(days=3), ago(days=2)])
    due_melies = await store_used_lines(payments_engine, melies, [ago(days=2)], total_cents=1490)
    waiting = [
        # Used after the cutoff: the next batch.
        *await store_used_lines(payments_engine, rex, [ago(minutes=30)]),
        # The showtime has not started yet (a booking validated early at the counter).
        *await store_used_lines(
            payments_engine, rex, [ago(days=2)], starts_at=datetime.now(UTC) + timedelta(hours=3)
        ),
        # No bank account yet.
        *await store_used_lines(payments_engine, no_account, [ago(days=2)]),
    ]

    reply = await create_batch(payments, admin, cutoff)

    batch = reply.batch
    assert reply.created
    assert (batch.payment_count, batch.booking_count, batch.total_cents) == (2, 3, 800 * 2 + 1490)
    assert batch.cutoff.ToDatetime(tzinfo=UTC) == cutoff
    assert batch.label.startswith("pass Culture Pro - remboursement ")
    details = await payments.batches.GetPaymentBatch(
        pb.GetPaymentBatchRequest(batch_id=batch.id), metadata=admin
    )
    assert details.batch == batch
    by_venue = {payment.venue_id: payment for payment in details.payments}
    assert (by_venue[rex.id].amount_cents, by_venue[rex.id].booking_count) == (1600, 2)
    assert (by_venue[melies.id].amount_cents, by_venue[melies.id].booking_count) == (1490, 1)
    assert sorted(p.invoice_reference for p in details.payments) == [
        f"{year_prefix()}0000001",
        f"{year_prefix()}0000002",
    ]
    assert await paid_booking_ids(payments_engine) == {*due_rex, *due_melies}
    assert not set(waiting) & await paid_booking_ids(payments_engine)

    events = await reimbursed_events(payments_engine)
    assert {(e.payment_id, frozenset(e.booking_ids)) for e in events} == {
        (by_venue[rex.id].id, frozenset(map(str, due_rex))),
        (by_venue[melies.id].id, frozenset(map(str, due_melies))),
    }
    assert {e.batch_id for e in events} == {batch.id}


async def test_the_same_cutoff_answers_the_same_batch_and_a_later_one_pays_only_what_is_new(
    payments, payments_engine, admin
):
    venue, late = new_venue(), new_venue()
    await store_bank_account(payments_engine, venue)
    first_lines = await store_used_lines(payments_engine, venue, [ago(days=3)])
    late_lines = await store_used_lines(payments_engine, late, [ago(days=3)])
    cutoff = ago(days=1)
    first = await create_batch(payments, admin, cutoff)

    again = await create_batch(payments, admin, cutoff)
    assert (again.created, again.batch) == (False, first.batch)
    assert len(await reimbursed_events(payments_engine)) == 1

    # The late venue gets its bank account; new bookings are used.
    await store_bank_account(payments_engine, late)
    new_lines = await store_used_lines(payments_engine, venue, [ago(hours=12)])
    second = await create_batch(payments, admin, ago(minutes=1))

    assert second.created and second.batch.id != first.batch.id
    assert (second.batch.payment_count, second.batch.booking_count) == (2, 2)
    paid = await paid_bookings(payments_engine)
    assert {paid[b] for b in (*late_lines, *new_lines)}.isdisjoint({paid[first_lines[0]]})
    events = await reimbursed_events(payments_engine)
    assert sorted(len(e.booking_ids) for e in events) == [1, 1, 1]
    assert sum(len(e.booking_ids) for e in events) == len(
        {b for e in events for b in e.booking_ids}
    )


async def test_revenue_priced_in_earlier_batches_moves_a_venue_up_the_scale(
    payments, payments_engine, admin
):
    venue = new_venue(siret="12345678200011")
    await store_bank_account(payments_engine, venue)
    await store_used_lines(payments_engine, venue, [ago(days=4)], total_cents=1_999_000)
    await create_batch(payments, admin, ago(days=3))
    # This one takes the venue's revenue of the year to 2 001 000: 95 % of its whole amount.
    [crossing] = await store_used_lines(payments_engine, venue, [ago(days=2)], total_cents=2000)

    second = await create_batch(payments, admin, ago(days=1))

    assert second.batch.total_cents == 1900
    details = await payments.batches.GetPaymentBatch(
        pb.GetPaymentBatchRequest(batch_id=second.batch.id), metadata=admin
    )
    (payment,) = details.payments

    lines = await payments.payments.GetPayment(
        payment_pb.GetPaymentRequest(payment_id=payment.id), metadata=admin
    )
    assert [
        (line.booking_id, line.total_cents, line.rate_bps, line.reimbursed_cents)
        for line in lines.lines
    ] == [(str(crossing), 2000, 9500, 1900)]


async def test_the_scale_restarts_on_the_first_of_january_in_paris(
    payments, payments_engine, admin
):
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    last_year = datetime(2025, 12, 31, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    await store_used_lines(payments_engine, venue, [last_year], total_cents=2_500_000)
    # 23:30 UTC on 31 December is 00:30 on 1 January in Paris: a new year, back to 100 %.
    await store_used_lines(
        payments_engine, venue, [datetime(2025, 12, 31, 23, 30, tzinfo=UTC)], total_cents=1000
    )

    reply = await create_batch(payments, admin, datetime(2026, 1, 16, tzinfo=PARIS))

    assert reply.batch.total_cents == 2_500_000 * 95 // 100 + 1000
    assert reply.batch.label == "pass Culture Pro - remboursement 1ère quinzaine 01-2026"


async def test_a_payment_of_many_bookings_sends_events_of_at_most_a_thousand(
    payments, payments_engine, admin
):
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    count = BOOKINGS_PER_EVENT * 2 + 1
    lines = await store_used_lines(payments_engine, venue, [ago(days=2)] * count, total_cents=500)

    reply = await create_batch(payments, admin, ago(days=1))

    events = await reimbursed_events(payments_engine)
    assert sorted(len(e.booking_ids) for e in events) == [1, 1000, 1000]
    assert {b for e in events for b in e.booking_ids} == set(map(str, lines))
    details = await payments.batches.GetPaymentBatch(
        pb.GetPaymentBatchRequest(batch_id=reply.batch.id), metadata=admin
    )
    (payment,) = details.payments
    assert {e.payment_id for e in events} == {payment.id}
    assert reply.batch.booking_count == payment.booking_count == count


async def test_the_sepa_file_pays_each_iban_once(payments, payments_engine, admin):
    # Two venues of one offerer sharing an IBAN, and a third venue with its own.
    offerer_id = str(uuid.uuid4())
    first, second = new_venue(offerer_id=offerer_id), new_venue(offerer_id=offerer_id)
    third = new_venue()
    shared = await store_bank_account(payments_engine, first)
    await store_bank_account(payments_engine, second, iban=shared)
    own = await store_bank_account(payments_engine, third, name="Le Méliès")
    for venue, total in ((first, 800), (second, 650), (third, 1200)):
        await store_used_lines(payments_engine, venue, [ago(days=2)], total_cents=total)

    reply = await create_batch(payments, admin, ago(days=1))
    filename, document = await sepa_file(payments, admin, reply.batch.id)

    assert filename.startswith("pass-culture-") and filename.endswith(f"-{reply.batch.id}.xml")
    pain001.validate(document)
    root = etree.fromstring(document)
    amounts = {
        tx.find("p:CdtrAcct/p:Id/p:IBAN", NS).text: tx.find("p:Amt/p:InstdAmt", NS).text
        for tx in root.findall(".//p:CdtTrfTxInf", NS)
    }
    assert amounts == {shared: "14.50", own: "12.00"}
    assert root.find(".//p:GrpHdr/p:CtrlSum", NS).text == "26.50"
    assert root.find(".//p:GrpHdr/p:NbOfTxs", NS).text == "2"
    assert reply.batch.payment_count == 3
    assert root.find(".//p:ReqdExctnDt", NS).text == reply.batch.execution_date
    assert {e.text for e in root.findall(".//p:RmtInf/p:Ustrd", NS)} == {reply.batch.label}


async def test_a_batch_with_nothing_to_pay_has_no_sepa_file(payments, admin):
    reply = await create_batch(payments, admin, ago(days=1))
    assert reply.created and reply.batch.payment_count == 0
    await expect_error(
        sepa_file(payments, admin, reply.batch.id), grpc.StatusCode.NOT_FOUND, "SEPA_FILE_NOT_FOUND"
    )


async def test_a_batch_of_free_bookings_pays_them_but_has_no_sepa_file(
    payments, payments_engine, admin
):
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    free = await store_used_lines(payments_engine, venue, [ago(days=2)], total_cents=0)
    reply = await create_batch(payments, admin, ago(hours=1))
    assert (reply.batch.payment_count, reply.batch.booking_count) == (1, 1)
    assert reply.batch.total_cents == 0
    assert await paid_booking_ids(payments_engine) == set(free)
    await expect_error(
        sepa_file(payments, admin, reply.batch.id), grpc.StatusCode.NOT_FOUND, "SEPA_FILE_NOT_FOUND"
    )


async def test_a_cutoff_in_the_future_is_refused(payments, admin):
    await expect_error(
        create_batch(payments, admin, datetime.now(UTC) + timedelta(hours=1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CUTOFF",
    )


async def test_the_default_cutoff_is_today_midnight_in_paris(payments, admin):
    reply = await create_batch(payments, admin)
    today = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    assert reply.batch.cutoff.ToDatetime(tzinfo=UTC) == today


async def test_batches_are_for_admins_only(payments, issuer, admin):
    made = await create_batch(payments, admin, ago(days=1))
    for role in ("pro", "beneficiary", "service"):
        caller = auth(issuer, str(uuid.uuid4()), role)
        await expect_error(
            create_batch(payments, caller, ago(days=1)),
            grpc.StatusCode.PERMISSION_DENIED,
            "FORBIDDEN",
        )
        await expect_error(
            payments.batches.GetPaymentBatch(
                pb.GetPaymentBatchRequest(batch_id=made.batch.id), metadata=caller
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "FORBIDDEN",
        )
        await expect_error(
            sepa_file(payments, caller, made.batch.id),
            grpc.StatusCode.PERMISSION_DENIED,
            "FORBIDDEN",
        )
    await expect_error(
        sepa_file(payments, (), made.batch.id), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"
    )
    await expect_error(
        sepa_file(payments, (("authorization", "Bearer nope"),), made.batch.id),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_TOKEN",
    )
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        await expect_error(
            payments.batches.GetPaymentBatch(
                pb.GetPaymentBatchRequest(batch_id=unknown), metadata=admin
            ),
            grpc.StatusCode.NOT_FOUND,
            "BATCH_NOT_FOUND",
        )
        await expect_error(
            sepa_file(payments, admin, unknown), grpc.StatusCode.NOT_FOUND, "BATCH_NOT_FOUND"
        )
