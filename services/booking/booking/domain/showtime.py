"""A showtime as a booking is made at it."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Showtime:
    """The facts of a showtime that a booking keeps: its unit price and tariff, start, features
    (VF/VO, 3D) and film title, as the catalog answered when the seats were taken."""

    amount_cents: int
    price_category_label: str
    starts_at: datetime
    features: list[str]
    offer_title: str
