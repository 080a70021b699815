"""VenueService: a pro's cinemas, with SIRET checks and the timezone from the postal code."""

import grpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, events
from catalog.domain.venues import check_siret, check_timezone, check_venue
from catalog.ids import filter_id
from catalog.models import Offerer, Venue
from catalog.resources import venue_pb
from passculture.catalog.v1 import venue_service_pb2 as pb
from passculture.catalog.v1 import venue_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib import pagination
from pclib.auth import Principal, require_role
from pclib.errors import AlreadyExists
from pclib.france import timezone_for_postal_code
from pclib.idempotency import idempotent

EDITABLE = ("name", "address", "postal_code", "city", "latitude", "longitude", "booking_email")


def _check(venue: Venue) -> None:
    check_venue(
        name=venue.name,
        postal_code=venue.postal_code,
        latitude=venue.latitude,
        longitude=venue.longitude,
        booking_email=venue.booking_email,
    )


async def _publish_upserted(session: AsyncSession, venue: Venue) -> None:
    offerer = await session.get_one(Offerer, venue.offerer_id)
    await events.record(session, events.venue_upserted(venue, offerer))


def _siret_taken() -> AlreadyExists:
    return AlreadyExists(Reason.SIRET_TAKEN, "a venue with this SIRET already exists")


class VenueServicer(pb_grpc.VenueServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def CreateVenue(
        self, request: pb.CreateVenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateVenueResponse:
        principal = access.require_pro()
        try:
            return await idempotent(
                self._sessions,
                context,
                caller=principal.subject,
                method="CreateVenue",
                request=request,
                response_type=pb.CreateVenueResponse,
                create=lambda session: self._create_venue(session, principal, request),
            )
        except IntegrityError:
            raise _siret_taken() from None

    async def _create_venue(
        self, session: AsyncSession, principal: Principal, request: pb.CreateVenueRequest
    ) -> pb.CreateVenueResponse:
        offerer = await access.get_offerer(session, principal, request.offerer_id)
        if request.siret:
            check_siret(request.siret, offerer.siren)
        venue = Venue(
            offerer_id=offerer.id,
            name=request.name,
            siret=request.siret or None,
            address=request.address,
            postal_code=request.postal_code,
            city=request.city,
            latitude=request.latitude,
            longitude=request.longitude,
            booking_email=request.booking_email,
            timezone=check_timezone(request.timezone)
            if request.HasField("timezone")
            else timezone_for_postal_code(request.postal_code),
        )
        _check(venue)
        session.add(venue)
        await session.flush()
        await _publish_upserted(session, venue)
        return pb.CreateVenueResponse(venue=venue_pb(venue))

    async def ListVenues(
        self, request: pb.ListVenuesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListVenuesResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        query = select(Venue).where(access.offerer_visible(principal, Venue.offerer_id))
        if request.offerer_id:
            query = query.where(Venue.offerer_id == filter_id(request.offerer_id))
        async with self._sessions() as session:
            venues = list(
                await session.scalars(
                    query.order_by(Venue.created_at, Venue.id).offset(offset).limit(size + 1)
                )
            )
        return pb.ListVenuesResponse(
            venues=[venue_pb(v) for v in venues[:size]],
            next_page_token=pagination.next_token(offset, size, len(venues)),
        )

    async def GetVenue(
        self, request: pb.GetVenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetVenueResponse:
        principal = require_role(*access.PRO_ROLES, "service")
        async with self._sessions() as session:
            venue = await access.get_venue(session, principal, request.venue_id)
        return pb.GetVenueResponse(venue=venue_pb(venue))

    async def UpdateVenue(
        self, request: pb.UpdateVenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateVenueResponse:
        principal = access.require_pro()
        try:
            async with self._sessions.begin() as session:
                venue = await access.get_venue(session, principal, request.venue_id)
                for field in EDITABLE:
                    if request.HasField(field):
                        setattr(venue, field, getattr(request, field))
                if request.HasField("siret"):
                    if request.siret:
                        offerer = await session.get_one(Offerer, venue.offerer_id)
                        check_siret(request.siret, offerer.siren)
                    venue.siret = request.siret or None
                if request.HasField("timezone"):
                    venue.timezone = check_timezone(request.timezone)
                elif request.HasField("postal_code"):
                    venue.timezone = timezone_for_postal_code(venue.postal_code)
                _check(venue)
                await session.flush()
                await _publish_upserted(session, venue)
        except IntegrityError:
            raise _siret_taken() from None
        return pb.UpdateVenueResponse(venue=venue_pb(venue))
