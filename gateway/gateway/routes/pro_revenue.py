"""An offerer's revenue of a calendar year (payments RevenueService), as JSON or, with
`Accept: text/csv`, as CSV; for the offerer's members (and admins)."""

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from gateway import csv_export, money_views
from gateway.dependencies import ProPayments
from gateway.openapi import PROBLEM_RESPONSE
from gateway.schemas.common import QueryText
from gateway.schemas.revenue import RevenueOut
from passculture.payments.v1 import revenue_service_pb2 as pb

router = APIRouter(prefix="/v1/pro", tags=["pro money"])


@router.get(
    "/revenue",
    response_model=RevenueOut,  # or CSV: the function's type says both
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The revenue, or with `Accept: text/csv` the same as CSV (a row per"
            " venue, then a row of the totals whose venue_id is TOTAL)",
        },
        404: {
            **PROBLEM_RESPONSE,
            "description": "OFFERER_NOT_FOUND: unknown, or the caller is not a member",
        },
        422: {**PROBLEM_RESPONSE, "description": "INVALID_YEAR (2000-9998), VALIDATION_ERROR"},
        503: {**PROBLEM_RESPONSE, "description": "CATALOG_UNAVAILABLE, with Retry-After"},
    },
)
async def get_revenue(
    payments: ProPayments,
    offerer_id: Annotated[QueryText, Query(description="one of the caller's offerers")],
    year: Annotated[
        int | None, Query(description="calendar year in Europe/Paris; default: the current one")
    ] = None,
    accept: Annotated[str, Header(include_in_schema=False)] = "",
) -> RevenueOut | Response:
    """Per venue (with its SIRET: the rate scale counts revenue per SIRET): cents booked
    (confirmed, of showtimes in the year), validated (used in the year), reimbursed (what the
    payment batches paid for them), still to be paid (priced as the next batch will), and the
    rate scale's position: the current rate and the revenue past which it drops."""
    request = pb.GetRevenueRequest(offerer_id=offerer_id)
    if year is not None:
        request.year = max(min(year, 2**31 - 1), -(2**31))
    report = money_views.revenue_out(await payments.revenue.GetRevenue(request))
    if csv_export.wants_csv(accept):
        filename = f"revenue-{report.year}.csv"
        return Response(
            csv_export.revenue_csv(report),
            media_type=csv_export.CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return report
