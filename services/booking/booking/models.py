"""The booking service's tables (its own database only)."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime

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
    TextClause,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from booking.domain.countermark import booking_qr_payload
from booking.domain.status import (
    ACTIVE_STATUSES,
    BookingStatus,
    CancellationReason,
    DeliveryStatus,
    NotificationAction,
    ValidationAuthor,
)
from pclib.db import status_column_type
from pclib.idempotency import idempotency_table
from pclib.inbox import inbox_table
from pclib.login_throttle import login_failures_table
from pclib.outbox import outbox_table
from pclib.refresh_tokens import refresh_token_tables


def status_in(statuses: Sequence[BookingStatus]) -> TextClause:
    """A partial index's condition on the status (SQL text: the table is not declared yet)."""
    return text(f"status IN ({', '.join(repr(str(status)) for status in statuses)})")


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        date: Date,
        uuid.UUID: UUID(as_uuid=True),
    }


class Beneficiary(Base):
    __tablename__ = "beneficiaries"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased; unique.
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    birth_date: Mapped[date]
    phone_number: Mapped[str] = mapped_column(Text, default="")
    postal_code: Mapped[str] = mapped_column(Text, default="")
    # Where the person lives, for their age and the times shown to them.
    timezone: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Credit(Base):
    """The public credit ("deposit") granted once to a beneficiary."""

    __tablename__ = "credits"
    __table_args__ = (
        CheckConstraint("initial_cents > 0", name="positive_credit"),
        CheckConstraint("spent_cents BETWEEN 0 AND initial_cents", name="spent_within_credit"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"), unique=True)
    initial_cents: Mapped[int] = mapped_column(Integer)
    # What its active bookings hold (PENDING, CONFIRMED, USED, REIMBURSED): a booking reserves
    # its amount here with one conditional UPDATE; failing or cancelling gives it back.
    spent_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(Text)


class Venue(Base):
    """A local copy of the catalog's venues (venue.upserted events and stock look-ups)."""

    __tablename__ = "venues"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    offerer_id: Mapped[uuid.UUID]
    offerer_siren: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    siret: Mapped[str] = mapped_column(Text, default="")
    booking_email: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    # Where the young person goes (their emails), as the catalog has it.
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    postal_code: Mapped[str] = mapped_column(Text, default="", server_default="")
    city: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("quantity IN (1, 2)", name="quantity_one_or_two"),
        CheckConstraint("amount_cents BETWEEN 0 AND 30000", name="amount_range"),
        UniqueConstraint("beneficiary_id", "idempotency_key"),
        # One non-cancelled booking per offer and beneficiary, whatever the concurrency.
        Index(
            "uq_bookings_one_active_per_offer",
            "beneficiary_id",
            "offer_id",
            unique=True,
            postgresql_where=status_in(ACTIVE_STATUSES),
        ),
        Index("ix_bookings_beneficiary_booked", "beneficiary_id", "booked_at"),
        Index("ix_bookings_offerer_booked", "offerer_id", "booked_at"),
        Index("ix_bookings_stock", "stock_id"),
        # The revoked tickets of a venue's showtimes of today and later (booking.revocations).
        Index("ix_bookings_venue_starts", "venue_id", "starts_at"),
        # The reconciler's and auto-validation's scans.
        Index(
            "ix_bookings_pending", "booked_at", postgresql_where=status_in([BookingStatus.PENDING])
        ),
        Index(
            "ix_bookings_confirmed_starts",
            "starts_at",
            postgresql_where=status_in([BookingStatus.CONFIRMED]),
        ),
        # The counter finds a booking by its ticketing system's barcode too.
        Index("ix_bookings_external_barcodes", "external_barcodes", postgresql_using="gin"),
        Index(
            "ix_bookings_tickets_to_cancel",
            "updated_at",
            postgresql_where=text("tickets_to_cancel"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    beneficiary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beneficiaries.id"))
    credit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credits.id"))
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    countermark: Mapped[str] = mapped_column(String(6), unique=True)
    status: Mapped[BookingStatus] = mapped_column(status_column_type(BookingStatus))
    quantity: Mapped[int] = mapped_column(Integer)
    # Unit price at booking time, and its tariff's label then ("Tarif réduit"…).
    amount_cents: Mapped[int] = mapped_column(Integer)
    price_category_label: Mapped[str] = mapped_column(Text, server_default="")
    stock_id: Mapped[uuid.UUID]
    offer_id: Mapped[uuid.UUID]
    offer_title: Mapped[str] = mapped_column(Text)
    features: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"))
    offerer_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    booked_at: Mapped[datetime]
    cancellation_limit_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    validated_by: Mapped[ValidationAuthor | None] = mapped_column(
        status_column_type(ValidationAuthor)
    )
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[CancellationReason | None] = mapped_column(
        status_column_type(CancellationReason)
    )
    reimbursed_at: Mapped[datetime | None]
    # Why the seats were refused (FAILED): a retry with the same Idempotency-Key answers it again.
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    # A showtime sold through its venue's ticketing system: its reference there
    # ("<showtime>:<tariff>"), the tickets it issued (barcodes and seats, one per seat; the
    # seats empty without a seat map), and whether they must still be cancelled there (a
    # FAILED booking, or one the cinema cancelled: booking.external_tickets retries).
    ticketing_reference: Mapped[str | None] = mapped_column(Text)
    external_barcodes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    external_seats: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    tickets_to_cancel: Mapped[bool] = mapped_column(default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def total_cents(self) -> int:
        return self.amount_cents * self.quantity

    @property
    def qr_code_text(self) -> str:
        """What its ticket's QR code (the emails') encodes: its ticketing system's barcode, else
        its countermark's v3 payload."""
        return booking_qr_payload(self.countermark, self.external_barcodes or [])

    @property
    def tickets(self) -> list[tuple[str, str]]:
        """(barcode, seat) of each ticket its venue's ticketing system issued."""
        return list(zip(self.external_barcodes or [], self.external_seats or [], strict=True))


class BookingReminder(Base):
    """A day-before reminder recorded (its event in the outbox): never a second one."""

    __tablename__ = "booking_reminders"
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CounterFailure(Base):
    """Wrong countermarks typed by a pro account, to throttle guessing."""

    __tablename__ = "counter_failures"
    __table_args__ = (Index("ix_counter_failures_user_at", "user_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(server_default=func.now())


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
# Sign-ups honour Idempotency-Key (bookings keep theirs in bookings.idempotency_key).
idempotency_keys = idempotency_table(Base.metadata)
# Sign-in sessions (refresh tokens) and the throttle of wrong passwords.
refresh_token_families, refresh_tokens = refresh_token_tables(Base.metadata)
login_failures = login_failures_table(Base.metadata)


class VenueNotification(Base):
    """Where a venue wants its bookings and cancellations POSTed, and the secret that signs
    them (kept readable: signing needs it)."""

    __tablename__ = "venue_notifications"
    venue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    signing_secret: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class NotificationDelivery(Base):
    """One notification to send (or sent, or given up): the delivery log of a venue."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("booking_id", "action"),
        Index("ix_notification_deliveries_venue", "venue_id", "created_at"),
        Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    venue_id: Mapped[uuid.UUID]
    booking_id: Mapped[uuid.UUID]
    action: Mapped[NotificationAction] = mapped_column(status_column_type(NotificationAction))
    status: Mapped[DeliveryStatus] = mapped_column(status_column_type(DeliveryStatus))
    url: Mapped[str] = mapped_column(Text)
    # The exact bytes signed and sent on every attempt.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    # The receiver's HTTP status, or none when it never answered (last_error says why).
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]
