"""Shapes of the money endpoints: venues' bank accounts, payments, payment batches (the payments
service)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gateway.schemas.common import Instant, RequestBody, Text, upstream_checked

# Two letters, two check digits, then 11 to 30 letters or digits, spaces anywhere.
IBAN_SHAPE = "^ *[A-Za-z] *[A-Za-z] *[0-9] *[0-9]( *[A-Za-z0-9]){11,30} *$"
# The BIC pattern of the SEPA schema (pain.001.001.03).
SEPA_BIC = "^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$"
BankAccountStatus = Literal["ACCEPTED"]


class BankAccountIn(RequestBody):
    # The payments service's checks (422 INVALID_IBAN, INVALID_BIC, INVALID_HOLDER_NAME).
    iban: Annotated[
        Text,
        upstream_checked(
            pattern=IBAN_SHAPE,
            description="Spaces and case ignored; its country's length and format, valid check"
            " digits (else 422 INVALID_IBAN)",
            examples=["FR76 3000 6000 0112 3456 7890 189"],
        ),
    ]
    bic: Annotated[
        Text,
        upstream_checked(
            pattern=SEPA_BIC,
            description="A SEPA BIC of the IBAN's country (else 422 INVALID_BIC)",
            examples=["BNPAFRPPXXX"],
        ),
    ]
    # Its runs of spaces count as one: 140 characters are always within the service's limit.
    holder_name: Annotated[Text, upstream_checked(maxLength=140)]


class BankAccountOut(BaseModel):
    venue_id: str
    iban_masked: str = Field(description='e.g. "FR76 **** **** **** **** ***0 189"')
    bic: str
    holder_name: str
    status: BankAccountStatus = Field(description="The venue is paid in the next batch")
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
