"""The payments service's answers as JSON models."""

from collections.abc import Iterable
from typing import Any

from gateway.proto_fields import optional_instant, optional_int
from gateway.schemas import money, revenue
from passculture.payments.v1 import resources_pb2 as pb
from passculture.payments.v1 import revenue_service_pb2

BASIS_POINTS = 10_000


BANK_ACCOUNT_STATUSES: dict[int, money.BankAccountStatus] = {
    pb.BANK_ACCOUNT_STATUS_ACCEPTED: "ACCEPTED"
}


def bank_account_out(account: pb.BankAccount) -> money.BankAccountOut:
    return money.BankAccountOut(
        venue_id=account.venue_id,
        iban_masked=account.iban_masked,
        bic=account.bic,
        holder_name=account.holder_name,
        status=BANK_ACCOUNT_STATUSES[account.status],
        updated_at=optional_instant(account, "updated_at"),
    )


def _payment_fields(payment: pb.Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "batch_id": payment.batch_id,
        "venue_id": payment.venue_id,
        "offerer_id": payment.offerer_id,
        "invoice_reference": payment.invoice_reference,
        "amount_cents": payment.amount_cents,
        "booking_count": payment.booking_count,
        "created_at": optional_instant(payment, "created_at"),
    }


def payment_out(payment: pb.Payment) -> money.PaymentOut:
    return money.PaymentOut(**_payment_fields(payment))


def line_out(line: pb.PaymentLine) -> money.PaymentLineOut:
    return money.PaymentLineOut(
        booking_id=line.booking_id,
        total_cents=line.total_cents,
        rate=line.rate_bps / BASIS_POINTS,
        reimbursed_cents=line.reimbursed_cents,
        used_at=optional_instant(line, "used_at"),
    )


def payment_detail_out(
    payment: pb.Payment, lines: Iterable[pb.PaymentLine]
) -> money.PaymentDetailOut:
    return money.PaymentDetailOut(
        **_payment_fields(payment), lines=[line_out(line) for line in lines]
    )


def _batch_fields(batch: pb.PaymentBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "label": batch.label,
        "cutoff": optional_instant(batch, "cutoff"),
        "payment_count": batch.payment_count,
        "booking_count": batch.booking_count,
        "total_cents": batch.total_cents,
        "created_at": optional_instant(batch, "created_at"),
        "execution_date": batch.execution_date or None,
    }


def created_batch_out(batch: pb.PaymentBatch, created: bool) -> money.CreatedPaymentBatchOut:
    return money.CreatedPaymentBatchOut(**_batch_fields(batch), created=created)


def batch_detail_out(
    batch: pb.PaymentBatch, payments: Iterable[pb.Payment]
) -> money.PaymentBatchDetailOut:
    return money.PaymentBatchDetailOut(
        **_batch_fields(batch), payments=[payment_out(payment) for payment in payments]
    )


def revenue_figures_out(figures: revenue_service_pb2.RevenueFigures) -> revenue.RevenueFiguresOut:
    return revenue.RevenueFiguresOut(
        booked_cents=figures.booked_cents,
        validated_cents=figures.validated_cents,
        reimbursed_cents=figures.reimbursed_cents,
        to_be_paid_cents=figures.to_be_paid_cents,
    )


def venue_revenue_out(venue: revenue_service_pb2.VenueRevenue) -> revenue.VenueRevenueOut:
    return revenue.VenueRevenueOut(
        venue_id=venue.venue_id,
        venue_name=venue.venue_name,
        siret=venue.siret or None,
        **revenue_figures_out(venue.figures).model_dump(),
        rate=revenue.RateOut(
            revenue_cents=venue.scale_revenue_cents,
            rate_bps=venue.rate_bps,
            next_threshold_cents=optional_int(venue, "next_threshold_cents"),
            next_rate_bps=optional_int(venue, "next_rate_bps"),
        ),
    )


def revenue_out(reply: revenue_service_pb2.GetRevenueResponse) -> revenue.RevenueOut:
    return revenue.RevenueOut(
        offerer_id=reply.offerer_id,
        year=reply.year,
        venues=[venue_revenue_out(venue) for venue in reply.venues],
        totals=revenue_figures_out(reply.totals),
    )
