from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from gateway.schemas.common import (
    UNCHANGED,
    Feature,
    Flag,
    Instant,
    Int32,
    Int64,
    RequestBody,
    Text,
)

OfferSource = Literal["MANUAL", "ALLOCINE"]


class OfferIn(RequestBody):
    title: Text
    description: Text = ""
    poster_url: Text = ""
    duration_minutes: Int32 | None = None
    is_duo: Flag = False


class OfferPatch(RequestBody):
    """Only the fields present change; none of them may be null."""

    is_active: Flag = UNCHANGED
    title: Text = UNCHANGED
    description: Text = UNCHANGED
    poster_url: Text = UNCHANGED
    duration_minutes: Int32 = UNCHANGED
    is_duo: Flag = UNCHANGED


class OfferOut(BaseModel):
    id: str
    venue_id: str
    title: str
    description: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    is_active: bool
    source: OfferSource


class StockIn(RequestBody):
    starts_at: Instant
    price_cents: Int64
    # Absent or null: unlimited.
    quantity: Int64 | None = None
    # Defaults to starts_at.
    booking_limit_at: Instant | None = None
    features: list[Feature] = []


class StockPatch(RequestBody):
    """Only the fields present change; `quantity: null` makes the stock unlimited."""

    price_cents: Int64 = UNCHANGED
    quantity: Int64 | None = None
    booking_limit_at: Instant = UNCHANGED
    starts_at: Instant = UNCHANGED
    is_active: Flag = UNCHANGED


class StockOut(BaseModel):
    id: str
    offer_id: str
    starts_at: datetime
    price_cents: int
    quantity: int | None
    booked_quantity: int
    booking_limit_at: datetime
    features: list[Feature]
    is_active: bool
