"""The catalog's tables (its own database only)."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from catalog.domain.status import OffererStatus, OfferSource, ReservationStatus
from pclib.db import status_column_type
from pclib.idempotency import idempotency_table
from pclib.inbox import inbox_table
from pclib.login_throttle import login_failures_table
from pclib.outbox import outbox_table
from pclib.refresh_tokens import refresh_token_tables


class Earth(UserDefinedType):
    """earthdistance's `earth`: a point of the Earth's surface as a 3-D cube (metres from the
    centre). Only SQL reads it; Python never loads it."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "earth"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: UUID(as_uuid=True)}


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class Offerer(Base):
    __tablename__ = "offerers"
    id: Mapped[uuid.UUID] = _id()
    siren: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[OffererStatus] = mapped_column(
        status_column_type(OffererStatus), default=OffererStatus.PENDING
    )
    created_at: Mapped[datetime] = _created_at()
    validated_at: Mapped[datetime | None]


class ProUser(Base):
    __tablename__ = "pro_users"
    id: Mapped[uuid.UUID] = _id()
    # Stored lower-cased; unique.
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = _created_at()


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pro_users.id"), primary_key=True)
    offerer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("offerers.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = _created_at()


class ApiKey(Base):
    """A provider's key acting for an offerer. Only the key's SHA-256 is stored."""

    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = _id()
    offerer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offerers.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pro_users.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Invitation(Base):
    """An email invited to join an offerer. Only the link token's SHA-256 is stored."""

    __tablename__ = "invitations"
    id: Mapped[uuid.UUID] = _id()
    offerer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offerers.id"), index=True)
    # Stored lower-cased, as ProUser.email.
    email: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    invited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("pro_users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pro_users.id"))


class Venue(Base):
    __tablename__ = "venues"
    __table_args__ = (
        # Nearby search: a GiST index on the point (earthdistance over cube).
        Index("ix_venues_earth", "location", postgresql_using="gist"),
    )
    id: Mapped[uuid.UUID] = _id()
    offerer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offerers.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    siret: Mapped[str | None] = mapped_column(String(14), unique=True)
    address: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    # Stored: ll_to_earth() checks its domain on every call, which made it the main cost of
    # sorting a search's venues by distance.
    location: Mapped[object] = mapped_column(
        Earth, Computed("ll_to_earth(latitude, longitude)", persisted=True), deferred=True
    )
    booking_email: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("venue_id", "provider_reference"),)
    id: Mapped[uuid.UUID] = _id()
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    poster_url: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    is_duo: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[OfferSource] = mapped_column(
        status_column_type(OfferSource), default=OfferSource.MANUAL
    )
    # Set for imported offers (e.g. the Allociné movie id).
    provider_reference: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class PriceCategory(Base):
    """A tariff of an offer. A deleted one (deleted_at) keeps its deleted stocks' price."""

    __tablename__ = "price_categories"
    __table_args__ = (
        CheckConstraint("price_cents BETWEEN 0 AND 30000", name="price_category_price_range"),
        CheckConstraint("char_length(label) BETWEEN 1 AND 50", name="price_category_label_length"),
        # What a stock's (price_category_id, price_cents) refers to: its price is the category's.
        UniqueConstraint("id", "price_cents", name="uq_price_categories_id_price"),
        Index(
            "uq_price_categories_offer_label",
            "offer_id",
            "label",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = _id()
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offers.id"), index=True)
    label: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_at()
    deleted_at: Mapped[datetime | None]


class Stock(Base):
    __tablename__ = "stocks"
    __table_args__ = (
        CheckConstraint("price_cents BETWEEN 0 AND 30000", name="price_range"),
        # A category's new price reaches its stocks in the same statement (new bookings only:
        # a booking keeps its own price).
        ForeignKeyConstraint(
            ["price_category_id", "price_cents"],
            ["price_categories.id", "price_categories.price_cents"],
            name="fk_stocks_price_category",
            onupdate="CASCADE",
        ),
        Index("ix_stocks_price_category", "price_category_id"),
        CheckConstraint(
            "quantity IS NULL OR quantity BETWEEN 0 AND 1000000", name="quantity_range"
        ),
        # The last line of defence against an oversell.
        CheckConstraint(
            "booked_quantity >= 0 AND (quantity IS NULL OR booked_quantity <= quantity)",
            name="booked_within_quantity",
        ),
        CheckConstraint("booking_limit_at <= starts_at", name="limit_before_start"),
        UniqueConstraint("offer_id", "provider_reference"),
        Index("ix_stocks_offer_starts", "offer_id", "starts_at"),
    )
    id: Mapped[uuid.UUID] = _id()
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offers.id"))
    starts_at: Mapped[datetime]
    price_category_id: Mapped[uuid.UUID]
    price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)
    booked_quantity: Mapped[int] = mapped_column(Integer, default=0)
    booking_limit_at: Mapped[datetime]
    features: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None]
    provider_reference: Mapped[str | None] = mapped_column(Text)
    # Fields a pro changed by hand, which imports must never overwrite.
    edited_fields: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class StockReservation(Base):
    """Seats held for a booking. A RELEASED row is a tombstone: that id never reserves again."""

    __tablename__ = "stock_reservations"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stock_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stocks.id"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[ReservationStatus] = mapped_column(status_column_type(ReservationStatus))
    created_at: Mapped[datetime] = _created_at()
    released_at: Mapped[datetime | None]


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
# Sign-in sessions (refresh tokens) and the throttle of wrong passwords.
refresh_token_families, refresh_tokens = refresh_token_tables(Base.metadata)
login_failures = login_failures_table(Base.metadata)
