"""Shapes of the money endpoints: venues' bank accounts, payments, payment batches (the payments
service)."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from gateway.schemas.common import Instant, RequestBody, Text


class BankAccountIn(RequestBody):
    # Spaces and case are ignored; checked (country format, checksum) by the payments service.
    iban: Text
    bic: Text
    holder_name: Text


class BankAccountOut(BaseModel):
    venue_id: str
    iban_masked: str = Field(description='e.g. "FR76 **** **** **** **** ***0 189"')
    bic: str
    holder_name: str
    status: str = Field(description='"ACCEPTED": the venue is paid in the next batch')
    updated_at: datetime | None


class PaymentOut(BaseModel):
    """What one bank account receives in one batch."""

    id: str
    batch_id: str
    venue_id: str
    offerer_id: str
    invoice_reference: str = Field(description='"F" + 2-digit year + 7-digit sequence')
    amount_cents: int
    booking_count: int
    created_at: datetime | None


class PaymentLineOut(BaseModel):
    """One priced booking of a payment."""

    booking_id: str
    total_cents: int
    rate: float = Field(description="The bracket's rate: 1.0, 0.95, 0.92 or 0.9")
    reimbursed_cents: int
    used_at: datetime | None


class PaymentDetailOut(PaymentOut):
    lines: list[PaymentLineOut]


class PaymentBatchIn(RequestBody):
    # Bookings used before this instant are paid; absent: today 00:00 Europe/Paris.
    cutoff: Instant | None = None


class PaymentBatchOut(BaseModel):
    id: str
    label: str
    cutoff: datetime | None
    payment_count: int
    booking_count: int
    total_cents: int
    created_at: datetime | None
    execution_date: date | None = Field(description="When the SEPA transfers are executed")


class CreatedPaymentBatchOut(PaymentBatchOut):
    created: bool = Field(
        description="False when a batch with this cutoff already existed: it is answered again"
    )


class PaymentBatchDetailOut(PaymentBatchOut):
    payments: list[PaymentOut]
