"""Conversions between the payments service's rows and its protobuf messages, and of ids."""

import uuid

from passculture.payments.v1 import resources_pb2 as pb
from passculture.payments.v1.reasons import Reason
from payments.domain.bank_details import mask_iban
from payments.domain.status import BankAccountStatus
from payments.models import BankAccount, Payment, PaymentBatch, PaymentLine
from pclib.errors import NotFound
from pclib.timestamps import optional_timestamp

STATUS = {BankAccountStatus.ACCEPTED: pb.BANK_ACCOUNT_STATUS_ACCEPTED}


def parse_id(value: str, reason: Reason) -> uuid.UUID:
    """An id from a request; a malformed one is reported like an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(reason, "not found") from None


def bank_account_pb(account: BankAccount) -> pb.BankAccount:
    return pb.BankAccount(
        venue_id=str(account.venue_id),
        offerer_id=str(account.offerer_id),
        iban_masked=mask_iban(account.iban),
        bic=account.bic,
        holder_name=account.holder_name,
        status=STATUS[account.status],
        updated_at=optional_timestamp(account.updated_at),
    )


def payment_pb(payment: Payment) -> pb.Payment:
    return pb.Payment(
        id=str(payment.id),
        batch_id=str(payment.batch_id),
        venue_id=str(payment.venue_id),
        offerer_id=str(payment.offerer_id),
        invoice_reference=payment.invoice_reference,
        amount_cents=payment.amount_cents,
        booking_count=payment.booking_count,
        created_at=optional_timestamp(payment.created_at),
    )


def line_pb(line: PaymentLine) -> pb.PaymentLine:
    return pb.PaymentLine(
        booking_id=str(line.booking_id),
        total_cents=line.total_cents,
        rate_bps=line.rate_bps,
        reimbursed_cents=line.reimbursed_cents,
        used_at=optional_timestamp(line.used_at),
    )


def batch_pb(batch: PaymentBatch) -> pb.PaymentBatch:
    return pb.PaymentBatch(
        id=str(batch.id),
        label=batch.label,
        cutoff=optional_timestamp(batch.cutoff),
        payment_count=batch.payment_count,
        booking_count=batch.booking_count,
        total_cents=batch.total_cents,
        created_at=optional_timestamp(batch.created_at),
        execution_date=batch.execution_date.isoformat(),
    )
