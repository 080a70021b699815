"""The pro's bookings as CSV: a header row, then one row per booking, written page by page; and
an offerer's revenue of a year: a row per venue, then the totals.

Times are given twice where a person reads them: in the venue's local time and in UTC.
Text cells that a spreadsheet would run as a formula (=, +, -, @ …) are quoted with a leading
apostrophe (OWASP "CSV injection"): names and emails come from the young people.
"""

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gateway.schemas.bookings import ProBookingOut
from gateway.schemas.revenue import RevenueFiguresOut, RevenueOut

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "booking_id",
    "countermark",
    "status",
    "offer_id",
    "offer_title",
    "venue_id",
    "venue_name",
    "starts_at_local",
    "starts_at_utc",
    "features",
    "quantity",
    "amount_cents",
    "total_cents",
    "beneficiary_first_name",
    "beneficiary_last_name",
    "beneficiary_email",
    "booked_at_utc",
    "used_at_utc",
    "validated_by",
    "cancelled_at_utc",
    "cancellation_reason",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone) if timezone else UTC).isoformat()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(booking: ProBookingOut) -> list[object]:
    values = (
        booking.booking_id,
        booking.countermark,
        booking.status,
        booking.offer_id,
        booking.offer_title,
        booking.venue_id,
        booking.venue_name,
        _local(booking.starts_at, booking.venue_timezone),
        _utc(booking.starts_at),
        " ".join(booking.features),
        booking.quantity,
        booking.amount_cents,
        booking.total_cents,
        booking.beneficiary.first_name,
        booking.beneficiary.last_name,
        booking.beneficiary.email,
        _utc(booking.booked_at),
        _utc(booking.used_at),
        booking.validated_by,
        _utc(booking.cancelled_at),
        booking.cancellation_reason,
    )
    return [_cell(value) for value in values]


def csv_lines(rows: Iterable[list[object]]) -> str:
    """Rows as CSV text (RFC 4180: CRLF line ends, quoting where needed)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def header() -> str:
    return csv_lines([list(COLUMNS)])


def wants_csv(accept: str) -> bool:
    """True when the Accept header prefers text/csv to application/json."""
    weights: dict[str, float] = {}
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = weight
    csv_weight = weights.get("text/csv", 0.0)
    return csv_weight > 0 and csv_weight >= weights.get("application/json", 0.0)


REVENUE_COLUMNS = (
    "year",
    "venue_id",
    "venue_name",
    "siret",
    "booked_cents",
    "validated_cents",
    "reimbursed_cents",
    "to_be_paid_cents",
    "scale_revenue_cents",
    "rate_bps",
    "next_threshold_cents",
    "next_rate_bps",
)
TOTAL = "TOTAL"


def _figures(figures: RevenueFiguresOut) -> list[object]:
    return [
        figures.booked_cents,
        figures.validated_cents,
        figures.reimbursed_cents,
        figures.to_be_paid_cents,
    ]


def revenue_csv(report: RevenueOut) -> str:
    """The header, a row per venue, and a last row of the totals (venue_id `TOTAL`)."""
    rows: list[list[object]] = [list(REVENUE_COLUMNS)]
    for venue in report.venues:
        rate = venue.rate
        values = [
            report.year,
            venue.venue_id,
            venue.venue_name,
            venue.siret,
            *_figures(venue),
            rate.revenue_cents,
            rate.rate_bps,
            rate.next_threshold_cents,
            rate.next_rate_bps,
        ]
        rows.append([_cell(value) for value in values])
    rows.append([report.year, TOTAL, "", "", *_figures(report.totals), "", "", "", ""])
    return csv_lines(rows)
