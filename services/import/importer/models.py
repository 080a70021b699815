"""The import service's tables (its own database only)."""

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from importer.domain.status import ACTIVE_STATUSES, SyncStatus, SyncTrigger
from importer.domain.ticketing_rules import ExternalBookingStatus, TicketingSystem
from pclib.db import status_column_type
from pclib.idempotency import idempotency_table
from pclib.outbox import outbox_table

# The syncs under way, in SQL: the predicate of their unique index, which ON CONFLICT names.
ACTIVE_SYNC = "status IN ({})".format(", ".join(f"'{status}'" for status in ACTIVE_STATUSES))


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: UUID(as_uuid=True)}


class AllocineVenue(Base):
    """A venue's Allociné settings (the venue itself lives in the catalog)."""

    __tablename__ = "allocine_venues"
    __table_args__ = (
        CheckConstraint("price_cents > 0 AND price_cents <= 30000", name="price_range"),
        CheckConstraint(
            "quantity IS NULL OR quantity BETWEEN 0 AND 1000000", name="quantity_range"
        ),
    )
    venue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Allociné's internal id (P0591): one venue per theater.
    theater_id: Mapped[str] = mapped_column(Text, unique=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)
    is_duo: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True, index=True)
    # The venue's IANA timezone as the catalog last said (for `sync-all --timezone`).
    timezone: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TicketingLink(Base):
    """A venue's link to its ticketing system: its showtimes are imported from there and its
    bookings placed there (the venue itself lives in the catalog)."""

    __tablename__ = "ticketing_links"
    __table_args__ = (
        # One venue per cinema of a system.
        UniqueConstraint("system", "account_id", "cinema_id", name="uq_ticketing_links_cinema"),
    )
    venue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    system: Mapped[TicketingSystem] = mapped_column(status_column_type(TicketingSystem))
    cinema_id: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    # The API token or password, Fernet-encrypted with TICKETING_SECRET_KEY (ticketing.secrets).
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    timezone: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ExternalBooking(Base):
    """A booking's tickets in its venue's ticketing system (transitions: ticketing.bookings)."""

    __tablename__ = "external_bookings"
    booking_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    venue_id: Mapped[uuid.UUID]
    stock_reference: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[ExternalBookingStatus] = mapped_column(status_column_type(ExternalBookingStatus))
    # [{"barcode": "…", "seat": "…"}] once BOOKED.
    tickets: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Sync(Base):
    __tablename__ = "syncs"
    __table_args__ = (
        # At most one sync under way per venue.
        Index(
            "uq_syncs_active_venue",
            "venue_id",
            unique=True,
            postgresql_where=text(ACTIVE_SYNC),
        ),
        Index("ix_syncs_venue_created", "venue_id", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Of a venue with Allociné settings or a ticketing link.
    venue_id: Mapped[uuid.UUID]
    status: Mapped[SyncStatus] = mapped_column(status_column_type(SyncStatus))
    trigger: Mapped[SyncTrigger] = mapped_column(status_column_type(SyncTrigger))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Last sign of life of a sync under way: one that stops moving is taken as interrupted.
    heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Server defaults: the daily run inserts and ends syncs with single SQL statements.
    offers_created: Mapped[int] = mapped_column(default=0, server_default="0")
    offers_updated: Mapped[int] = mapped_column(default=0, server_default="0")
    stocks_created: Mapped[int] = mapped_column(default=0, server_default="0")
    stocks_updated: Mapped[int] = mapped_column(default=0, server_default="0")
    showtimes_imported: Mapped[int] = mapped_column(default=0, server_default="0")
    showtimes_skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    movies_rejected: Mapped[int] = mapped_column(default=0, server_default="0")
    # [{"movie": "310001", "reason": "..."}], the first ones only.
    rejected_movies: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A hash of the feed as fetched and of what its reading depends on (settings, timezone,
    # rules version): a later feed with the same hash has nothing new for the catalog.
    feed_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The feed was the last successful sync's: nothing was sent, its counts are carried over.
    feed_unchanged: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class OfferFingerprint(Base):
    """What was last sent to the catalog for an offer (a hash of the whole request part): an
    offer whose proposal has not changed since is not sent again."""

    __tablename__ = "offer_fingerprints"
    venue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_reference: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    synced_at: Mapped[datetime] = mapped_column(server_default=func.now())


outbox = outbox_table(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
