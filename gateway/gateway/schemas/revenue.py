from pydantic import BaseModel, Field


class RevenueFiguresOut(BaseModel):
    booked_cents: int = Field(
        description="Bookings confirmed and not validated, of showtimes in the year (totals)"
    )
    validated_cents: int = Field(
        description="Bookings validated (used) in the year, paid or not (totals): the revenue"
        " the rate scale counts"
    )
    reimbursed_cents: int = Field(
        description="What payment batches paid for the bookings validated in the year (after"
        " the rate)"
    )
    to_be_paid_cents: int = Field(
        description="The validated bookings not paid yet, priced as the next batch prices them"
    )


class RateOut(BaseModel):
    """The rate scale of the venue's SIRET (of the venue alone without one) in the year."""

    revenue_cents: int = Field(description="Revenue of the year so far (validated, paid or not)")
    rate_bps: int = Field(description="The rate of a booking reaching that revenue (10000: 100 %)")
    next_threshold_cents: int | None = Field(
        description="Past this revenue the rate drops to next_rate_bps; null past the last"
        " threshold"
    )
    next_rate_bps: int | None


class VenueRevenueOut(RevenueFiguresOut):
    venue_id: str
    venue_name: str
    siret: str | None
    rate: RateOut


class RevenueOut(BaseModel):
    offerer_id: str
    year: int = Field(description="Calendar year in Europe/Paris")
    venues: list[VenueRevenueOut]
    totals: RevenueFiguresOut
