"""What pros see of their payments: their own offerers' only, newest first, page by page."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from passculture.payments.v1 import payment_service_pb2 as pb
from tests.support.catalog_helpers import auth, make_pro, reason_of
from tests.support.payments_helpers import Venue as LedgerVenue
from tests.support.payments_helpers import create_batch, store_bank_account, store_used_lines


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


async def expect_error(call, code: grpc.StatusCode, reason: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


async def list_payments(payments, metadata, offerer_id: str, **fields):
    return await payments.payments.ListPayments(
        pb.ListPaymentsRequest(offerer_id=offerer_id, **fields), metadata=metadata
    )


@pytest.fixture
async def two_pros_paid(catalog, issuer, payments, payments_engine, admin):
    """Two pros (offerers of the catalog), each paid in two batches."""
    pros = [await make_pro(catalog, issuer) for _ in range(2)]
    venues = [LedgerVenue(str(uuid.uuid4()), pro.offerer_id, pro.siren) for pro in pros]
    for venue in venues:
        await store_bank_account(payments_engine, venue)
        await store_used_lines(payments_engine, venue, [ago(days=5)], total_cents=700)
    await create_batch(payments, admin, ago(days=4))
    for venue in venues:
        await store_used_lines(payments_engine, venue, [ago(days=3)] * 2, total_cents=500)
    await create_batch(payments, admin, ago(days=2))
    return pros


async def test_a_pro_lists_its_offerers_payments_newest_first(payments, two_pros_paid):
    pro, _ = two_pros_paid
    listed = await list_payments(payments, pro.metadata, pro.offerer_id)
    assert [(p.offerer_id, p.amount_cents, p.booking_count) for p in listed.payments] == [
        (pro.offerer_id, 1000, 2),
        (pro.offerer_id, 700, 1),
    ]
    assert listed.next_page_token == ""

    first = await list_payments(payments, pro.metadata, pro.offerer_id, page_size=1)
    second = await list_payments(
        payments, pro.metadata, pro.offerer_id, page_size=1, page_token=first.next_page_token
    )
    assert [*first.payments, *second.payments] == list(listed.payments)
    assert second.next_page_token == ""


async def test_a_pro_sees_a_payment_with_its_lines(payments, two_pros_paid):
    pro, _ = two_pros_paid
    newest = (await list_payments(payments, pro.metadata, pro.offerer_id)).payments[0]
    got = await payments.payments.GetPayment(
        pb.GetPaymentRequest(payment_id=newest.id), metadata=pro.metadata
    )
    assert got.payment == newest
    assert [(line.total_cents, line.rate_bps, line.reimbursed_cents) for line in got.lines] == [
        (500, 10_000, 500),
        (500, 10_000, 500),
    ]


async def test_another_offerers_payments_are_not_found(payments, two_pros_paid, issuer):
    pro, other = two_pros_paid
    theirs = (await list_payments(payments, other.metadata, other.offerer_id)).payments[0]
    await expect_error(
        list_payments(payments, pro.metadata, other.offerer_id),
        grpc.StatusCode.NOT_FOUND,
        "OFFERER_NOT_FOUND",
    )
    await expect_error(
        payments.payments.GetPayment(
            pb.GetPaymentRequest(payment_id=theirs.id), metadata=pro.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "PAYMENT_NOT_FOUND",
    )
    for unknown in (str(uuid.uuid4()), "nope"):
        await expect_error(
            payments.payments.GetPayment(
                pb.GetPaymentRequest(payment_id=unknown), metadata=pro.metadata
            ),
            grpc.StatusCode.NOT_FOUND,
            "PAYMENT_NOT_FOUND",
        )
        await expect_error(
            list_payments(payments, pro.metadata, unknown),
            grpc.StatusCode.NOT_FOUND,
            "OFFERER_NOT_FOUND",
        )


async def test_admins_see_every_offerers_payments(payments, two_pros_paid, admin):
    for pro in two_pros_paid:
        listed = await list_payments(payments, admin, pro.offerer_id)
        assert len(listed.payments) == 2
        got = await payments.payments.GetPayment(
            pb.GetPaymentRequest(payment_id=listed.payments[0].id), metadata=admin
        )
        assert got.payment.offerer_id == pro.offerer_id


@pytest.mark.parametrize(
    ("role", "code", "reason"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
        ("beneficiary", grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"),
        ("service", grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"),
    ],
)
async def test_others_may_not_see_payments(payments, issuer, two_pros_paid, role, code, reason):
    pro, _ = two_pros_paid
    metadata = auth(issuer, str(uuid.uuid4()), role) if role else ()
    await expect_error(list_payments(payments, metadata, pro.offerer_id), code, reason)
