from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
    """The stock's tariff: `price_category_id`, or a bare `price_cents` (the offer's category of
    that price, created when missing: "Tarif unique" for the first, then "Tarif 2"…); neither:
    422 PRICE_REQUIRED."""

    starts_at: Instant
    price_category_id: Text | None = None
    price_cents: Int64 | None = Field(
        default=None, description="Must be the category's price when both are given"
    )
    # Absent or null: unlimited.
    quantity: Int64 | None = None
    # Defaults to starts_at.
    booking_limit_at: Instant | None = None
    features: list[Feature] = []


class StockPatch(RequestBody):
    """Only the fields present change; `quantity: null` makes the stock unlimited. A
    `price_cents` moves the stock to its offer's category of that price (created when
    missing); `price_category_id` to that category."""

    price_category_id: Text = UNCHANGED
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
    price_category_id: str
    price_category_label: str


class PriceCategoryIn(RequestBody):
    label: Text = Field(description="1 to 50 characters, unique within the offer")
    price_cents: Int64 = Field(description="0 to 30000")


class PriceCategoryPatch(RequestBody):
    """Only the fields present change. A new price applies to new bookings only: the
    category's stocks take it, bookings keep the price they were made at."""

    label: Text = UNCHANGED
    price_cents: Int64 = UNCHANGED


class PriceCategoryOut(BaseModel):
    id: str
    offer_id: str
    label: str
    price_cents: int
