"""RevenueService: an offerer's revenue of a year, per venue, for its members (and admins)."""

from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from passculture.payments.v1 import revenue_service_pb2 as pb
from passculture.payments.v1 import revenue_service_pb2_grpc as pb_grpc
from passculture.payments.v1.reasons import Reason
from payments import revenue
from payments.api.convert import parse_id
from payments.catalog_client import CatalogClient, CatalogVenue, caller_metadata
from payments.domain import rates
from payments.domain.revenue import Figures, check_year
from pclib.auth import require_role
from pclib.errors import NotFound

CALLER_ROLES = ("pro", "admin")


def figures_pb(figures: Figures) -> pb.RevenueFigures:
    return pb.RevenueFigures(
        booked_cents=figures.booked,
        validated_cents=figures.validated,
        reimbursed_cents=figures.reimbursed,
        to_be_paid_cents=figures.to_be_paid,
    )


def venue_revenue_pb(venue: CatalogVenue, figures: Figures, scale_revenue: int) -> pb.VenueRevenue:
    answer = pb.VenueRevenue(
        venue_id=str(venue.id),
        venue_name=venue.name,
        siret=venue.siret,
        figures=figures_pb(figures),
        scale_revenue_cents=scale_revenue,
        rate_bps=rates.rate_bps(scale_revenue),
    )
    threshold = rates.next_threshold(scale_revenue)
    if threshold is not None:
        answer.next_threshold_cents = threshold.revenue_cents
        answer.next_rate_bps = threshold.rate_bps
    return answer


class RevenueServicer(pb_grpc.RevenueServiceServicer):
    def __init__(self, sessions: async_sessionmaker, catalog: CatalogClient) -> None:
        self._sessions = sessions
        self._catalog = catalog

    async def GetRevenue(
        self, request: pb.GetRevenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRevenueResponse:
        principal = require_role(*CALLER_ROLES)
        year = request.year or datetime.now(UTC).astimezone(rates.PARIS).year
        check_year(year)
        offerer_id = parse_id(request.offerer_id, Reason.OFFERER_NOT_FOUND)
        metadata = caller_metadata(context)
        if principal.role != "admin":
            # Asked of the catalog on every call: a member removed there is refused here at once.
            mine = await self._catalog.offerers_of_caller(metadata)
            if offerer_id not in {offerer.id for offerer in mine}:
                raise NotFound(Reason.OFFERER_NOT_FOUND, "offerer not found")
        venues = await self._catalog.venues_of_offerer(offerer_id, metadata)
        async with self._sessions() as session:
            by_venue = await revenue.figures_by_venue(session, offerer_id, year)
            keys = {venue.id: rates.scale_key(venue.siret, str(venue.id)) for venue in venues}
            scales = await revenue.scale_revenues(session, list(keys.values()), year)
        known = {venue.id for venue in venues}
        # Bookings of a venue the catalog no longer lists under the offerer still count.
        venues += [
            CatalogVenue(venue_id, offerer_id, "", "")
            for venue_id in sorted(by_venue.keys() - known)
        ]
        totals = Figures()
        answer = pb.GetRevenueResponse(offerer_id=str(offerer_id), year=year)
        for venue in venues:
            figures = by_venue.get(venue.id, Figures())
            totals.add(figures)
            key = keys.get(venue.id) or rates.scale_key("", str(venue.id))
            answer.venues.append(venue_revenue_pb(venue, figures, scales.get(key, 0)))
        answer.totals.CopyFrom(figures_pb(totals))
        return answer
