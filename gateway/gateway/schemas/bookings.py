from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gateway.schemas.common import Feature, Instant, Int32, RequestBody, Text, upstream_checked

BookingStatus = Literal["PENDING", "CONFIRMED", "USED", "REIMBURSED", "CANCELLED", "FAILED"]
# What a pro's list shows and filters on (PENDING and FAILED bookings are never listed).
ListedStatus = Literal["CONFIRMED", "USED", "REIMBURSED", "CANCELLED"]
CancellationReason = Literal["BENEFICIARY", "OFFERER"]
ValidationAuthor = Literal["OFFERER", "AUTO"]


class BookingIn(RequestBody):
    stock_id: Text
    quantity: Annotated[
        Int32,
        upstream_checked(
            minimum=1, maximum=2, description="2 only on a duo offer (else 422 INVALID_QUANTITY)"
        ),
    ] = 1


class ExternalTicketOut(BaseModel):
    """A ticket issued by the venue's ticketing system (a showtime sold through one)."""

    barcode: str = Field(description="What the cinema's counter scans")
    seat: str = Field(description="The seat, empty when the showtime has no seat map")


class BookingOut(BaseModel):
    """A young person's booking (their ticket)."""

    id: str
    countermark: str
    status: BookingStatus
    quantity: int
    amount_cents: int = Field(description="Unit price at booking time")
    price_category_label: str = Field(
        description='The tariff the booking was made at (its label then, e.g. "Tarif réduit")'
    )
    total_cents: int
    offer_id: str
    offer_title: str
    stock_id: str
    venue_id: str
    venue_name: str
    venue_timezone: str
    features: list[Feature]
    starts_at: datetime
    booked_at: datetime
    cancellation_limit_at: datetime
    used_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: CancellationReason | None
    qr_payload: str = Field(
        description="The countermark's unsigned payload, PASSCULTURE:v3;TOKEN:<countermark>"
        " (the counter still takes it)"
    )
    signed_qr_payload: str = Field(
        description="The signed ticket, what the ticket's QR code encodes: PASSCULTURE:v4;"
        " followed by a compact JWS (EdDSA; claims cm, bid, sid, vid, st, q, iat), checked"
        " with /v1/tickets/jwks.json"
    )
    external_tickets: list[ExternalTicketOut] = Field(
        description="The tickets the venue's ticketing system issued, one per seat (empty for"
        " other showtimes); the counter accepts their barcode as a countermark, and the ticket's"
        " QR code (the confirmation email's; the app shows the same) encodes the first barcode"
    )


class BookerOut(BaseModel):
    first_name: str
    last_name: str
    email: str


class ProBookingOut(BaseModel):
    """A booking as the venue's pro sees it, at the counter and in the bookings list."""

    booking_id: str
    countermark: str
    status: BookingStatus
    offer_id: str
    offer_title: str
    stock_id: str
    venue_id: str
    venue_name: str
    venue_timezone: str
    starts_at: datetime
    quantity: int
    amount_cents: int
    price_category_label: str
    total_cents: int
    features: list[Feature]
    booked_at: datetime
    cancellation_limit_at: datetime
    used_at: datetime | None
    validated_by: ValidationAuthor | None
    cancelled_at: datetime | None
    cancellation_reason: CancellationReason | None
    beneficiary: BookerOut
    external_tickets: list[ExternalTicketOut] = Field(
        description="The tickets the venue's ticketing system issued, one per seat (empty for"
        " other showtimes)"
    )


class CountermarkUseIn(RequestBody):
    validated_at: Instant | None = Field(
        default=None,
        description="When a counter validated it offline, synced now: not in the future, not"
        " before the booking (else 422 INVALID_VALIDATED_AT); the booking keeps it as `used_at`",
    )


class AutoUseOut(BaseModel):
    bookings_used: int
