"""The payments service's tables (its own database only)."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from payments.domain.status import BankAccountStatus, LedgerState
from pclib.db import status_column_type
from pclib.inbox import inbox_table
from pclib.outbox import outbox_table


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK constraint's SQL: the column holds one of the enum's values."""
    return "{} IN ({})".format(column, ", ".join(f"'{value}'" for value in values))


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
        date: Date,
    }


class Offerer(Base):
    """A local copy of the catalog's offerers (name and SIREN), from `venue.upserted` events and
    from the pros' own ListMyOfferers answers."""

    __tablename__ = "offerers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    siren: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class BankAccount(Base):
    """A venue's bank account. The IBAN is kept in clear (the SEPA file needs it) and never
    leaves the service so: answers and logs show it masked."""

    __tablename__ = "bank_accounts"
    __table_args__ = (CheckConstraint(_one_of("status", BankAccountStatus), name="status_known"),)
    venue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    offerer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    iban: Mapped[str] = mapped_column(Text)
    bic: Mapped[str] = mapped_column(String(11))
    holder_name: Mapped[str] = mapped_column(Text)
    # Snapshots taken when the account was put: the SEPA creditor is the offerer.
    creditor_name: Mapped[str] = mapped_column(Text)
    offerer_siren: Mapped[str] = mapped_column(Text)
    venue_siret: Mapped[str] = mapped_column(Text)
    status: Mapped[BankAccountStatus] = mapped_column(status_column_type(BankAccountStatus))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LedgerLine(Base):
    """One booking as payments knows it from the booking events: USED lines are reimbursable
    until paid; UNUSED and CANCELLED ones stay as tombstones so that a late, older event does
    not bring them back. The lines a batch pays leave the ledger for payment_lines (see
    batch/run.py): the ledger holds what is not paid yet."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint(_one_of("state", LedgerState), name="state_known"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        # The batch reads the lines to pay in this order, straight from the index.
        Index(
            "ix_ledger_lines_to_pay",
            "scale_key",
            "used_year",
            "used_at",
            "booking_id",
            postgresql_where=text(f"state = '{LedgerState.USED}'"),
        ),
    )
    booking_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    venue_id: Mapped[uuid.UUID]
    # An offerer's revenue reads its lines.
    offerer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    offerer_siren: Mapped[str] = mapped_column(Text)
    venue_siret: Mapped[str] = mapped_column(Text)
    stock_id: Mapped[uuid.UUID] = mapped_column(index=True)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime]
    state: Mapped[LedgerState] = mapped_column(status_column_type(LedgerState))
    # What the rate scale counts revenue by (rates.scale_key), and the Paris year of used_at.
    scale_key: Mapped[str] = mapped_column(Text)
    used_at: Mapped[datetime | None]
    used_year: Mapped[int | None] = mapped_column(Integer)
    # The time of the last event the line took (events older than it are ignored).
    last_event_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PaymentBatch(Base):
    __tablename__ = "payment_batches"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # One batch per cutoff: asking again answers the batch already made.
    cutoff: Mapped[datetime] = mapped_column(unique=True)
    label: Mapped[str] = mapped_column(Text)
    execution_date: Mapped[date]
    payment_count: Mapped[int] = mapped_column(Integer, default=0)
    booking_count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The ISO 20022 pain.001.001.03 credit transfers (none when the batch pays nothing).
    sepa_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Payment(Base):
    """What one bank account receives in one batch, with the account's details as paid."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_offerer_created", "offerer_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    venue_id: Mapped[uuid.UUID]
    offerer_id: Mapped[uuid.UUID]
    invoice_reference: Mapped[str] = mapped_column(Text, unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    booking_count: Mapped[int] = mapped_column(Integer)
    iban: Mapped[str] = mapped_column(Text)
    bic: Mapped[str] = mapped_column(String(11))
    creditor_name: Mapped[str] = mapped_column(Text)
    offerer_siren: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PaymentLine(Base):
    """One priced booking of a payment (written with COPY by the batch, before its payment).
    A booking is paid once: its id is the key. No foreign key to payments: a batch writes a
    million lines in the transaction that writes the payments; a check per row would cost a
    trigger each."""

    __tablename__ = "payment_lines"
    booking_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(index=True)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    rate_bps: Mapped[int] = mapped_column(Integer)
    reimbursed_cents: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime]


class ScaleRevenue(Base):
    """Revenue already priced per scale key and Paris year (the rate scale's R before a batch)."""

    __tablename__ = "scale_revenues"
    scale_key: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class InvoiceSequence(Base):
    """The last invoice number given in a year."""

    __tablename__ = "invoice_sequences"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
