from datetime import datetime

from pydantic import BaseModel, Field

from gateway.schemas.common import Feature


class VenueSummaryOut(BaseModel):
    id: str
    name: str
    city: str
    latitude: float
    longitude: float


class PriceOut(BaseModel):
    label: str
    price_cents: int


class OfferSummaryOut(BaseModel):
    id: str
    title: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    venue: VenueSummaryOut
    distance_km: float
    min_price_cents: int = Field(description="The cheapest bookable tariff")
    next_starts_at: datetime
    prices: list[PriceOut] = Field(
        description="The tariffs of its bookable showtimes (in the dates asked), cheapest first"
    )


class PublicStockOut(BaseModel):
    id: str
    starts_at: datetime
    price_cents: int
    remaining_quantity: int | None
    features: list[Feature]
    is_bookable: bool
    price_category_id: str
    price_category_label: str


class PublicOfferOut(BaseModel):
    id: str
    title: str
    description: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    venue: VenueSummaryOut
    stocks: list[PublicStockOut]
