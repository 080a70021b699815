from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gateway.schemas.common import (
    NOT_BLANK,
    UNCHANGED,
    Feature,
    Flag,
    Instant,
    Int32,
    Int64,
    NonBlankText,
    RequestBody,
    Text,
    upstream_checked,
)

OfferSource = Literal["MANUAL", "ALLOCINE", "TICKETING"]
# The catalog's ranges (422 INVALID_DURATION, INVALID_PRICE, INVALID_QUANTITY), declared here.
DurationMinutes = Annotated[Int32, upstream_checked(minimum=1, maximum=1440)]
PriceCents = Annotated[Int64, upstream_checked(minimum=0, maximum=30000)]
# 422 INVALID_PRICE_CATEGORY_LABEL; 409 PRICE_CATEGORY_LABEL_TAKEN for another's label.
PriceCategoryLabel = Annotated[
    Text,
    upstream_checked(
        pattern=NOT_BLANK, maxLength=50, description="1 to 50 characters, unique within the offer"
    ),
]
StockQuantity = Annotated[
    Int64, upstream_checked(minimum=0, maximum=1_000_000, description="Places; null: unlimited")
]


class OfferIn(RequestBody):
    title: NonBlankText
    description: Text = ""
    poster_url: Text = ""
    duration_minutes: DurationMinutes | None = None
    is_duo: Flag = False


class OfferPatch(RequestBody):
    """Only the fields present change; none of them may be null."""

    is_active: Flag = UNCHANGED
    title: NonBlankText = UNCHANGED
    description: Text = UNCHANGED
    poster_url: Text = UNCHANGED
    duration_minutes: DurationMinutes = UNCHANGED
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

    starts_at: Annotated[
        Instant,
        Field(
            description="In the future (else 422 STARTS_AT_IN_PAST)",
            examples=["2099-06-21T20:30:00+02:00"],
        ),
    ]
    price_category_id: Text | None = None
    price_cents: Annotated[
        PriceCents | None, Field(description="Must be the category's price when both are given")
    ] = None
    # Absent or null: unlimited.
    quantity: StockQuantity | None = None
    booking_limit_at: Annotated[
        Instant | None,
        Field(
            description="Not after starts_at (else 422 INVALID_BOOKING_LIMIT); absent: starts_at"
        ),
    ] = None
    features: Annotated[
        list[Feature], Field(description="VF or VO, and 3D for a 3D projection; any order")
    ] = []


class StockPatch(RequestBody):
    """Only the fields present change; `quantity: null` makes the stock unlimited. A
    `price_cents` moves the stock to its offer's category of that price (created when
    missing); `price_category_id` to that category."""

    price_category_id: Text = UNCHANGED
    price_cents: PriceCents = UNCHANGED
    quantity: StockQuantity | None = None
    booking_limit_at: Instant = UNCHANGED
    starts_at: Annotated[
        Instant,
        Field(
            description="In the future (else 422 STARTS_AT_IN_PAST); a showtime that has started"
            " no longer changes (409 STOCK_IN_PAST)",
            examples=["2099-06-21T20:30:00+02:00"],
        ),
    ] = UNCHANGED
    is_active: Flag = UNCHANGED
    features: Annotated[
        list[Feature],
        Field(
            description="All of the stock's features (VF or VO, and 3D); [] for none. An import"
            " no longer changes the features of a stock whose features the pro set"
        ),
    ] = UNCHANGED


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
    label: PriceCategoryLabel
    price_cents: PriceCents


class PriceCategoryPatch(RequestBody):
    """Only the fields present change. A new price applies to new bookings only: the
    category's stocks take it, bookings keep the price they were made at."""

    label: PriceCategoryLabel = UNCHANGED
    price_cents: PriceCents = UNCHANGED


class PriceCategoryOut(BaseModel):
    id: str
    offer_id: str
    label: str
    price_cents: int
