from datetime import datetime

from pydantic import BaseModel

from gateway.schemas.common import Feature


class VenueSummaryOut(BaseModel):
    id: str
    name: str
    city: str
    latitude: float
    longitude: float


class OfferSummaryOut(BaseModel):
    id: str
    title: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    venue: VenueSummaryOut
    distance_km: float
    min_price_cents: int
    next_starts_at: datetime


class PublicStockOut(BaseModel):
    id: str
    starts_at: datetime
    price_cents: int
    remaining_quantity: int | None
    features: list[Feature]
    is_bookable: bool


class PublicOfferOut(BaseModel):
    id: str
    title: str
    description: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    venue: VenueSummaryOut
    stocks: list[PublicStockOut]
