"""VenueService: a pro's cinemas, with SIRET checks and the timezone from the postal code."""

import zoneinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access
from catalog.api.convert import filter_id, offerer_pb, venue_pb
from catalog.domain.identifiers import is_valid_siret, siret_belongs_to
from catalog.models import Offerer, Venue
from passculture.catalog.v1 import events_pb2
from passculture.catalog.v1 import venue_service_pb2 as pb
from passculture.catalog.v1 import venue_service_pb2_grpc as pb_grpc
from pclib import pagination
from pclib.auth import require_role
from pclib.errors import AlreadyExists, InvalidArgument
from pclib.france import timezone_for_postal_code
from pclib.idempotency import idempotent
from pclib.outbox import add_event

EDITABLE = ("name", "address", "postal_code", "city", "latitude", "longitude", "booking_email")


def _check_siret(siret: str, offerer: Offerer) -> None:
    if not is_valid_siret(siret):
        raise InvalidArgument("INVALID_SIRET", "SIRET must be 14 digits with a valid checksum")
    if not siret_belongs_to(siret, offerer.siren):
        raise InvalidArgument(
            "SIRET_NOT_IN_OFFERER", "the SIRET must start with the offerer's SIREN"
        )


def _check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument("INVALID_TIMEZONE", f"unknown timezone {name!r}") from None
    return name


def _check_place(venue: Venue) -> None:
    if not (-90 <= venue.latitude <= 90 and -180 <= venue.longitude <= 180):
        raise InvalidArgument("INVALID_COORDINATES", "latitude or longitude out of range")
    if not (len(venue.postal_code) == 5 and venue.postal_code.isdigit()):
        raise InvalidArgument("INVALID_POSTAL_CODE", "postal_code must be 5 digits")
    if not venue.name.strip():
        raise InvalidArgument("INVALID_NAME", "name is required")
    if "@" not in venue.booking_email:
        raise InvalidArgument("INVALID_BOOKING_EMAIL", "booking_email is not an email address")


async def _publish_upserted(session: AsyncSession, venue: Venue) -> None:
    offerer = await session.get(Offerer, venue.offerer_id)
    await add_event(
        session,
        "venue.upserted",
        events_pb2.VenueUpserted(venue=venue_pb(venue), offerer=offerer_pb(offerer)),
    )


class VenueServicer(pb_grpc.VenueServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def CreateVenue(self, request, context):
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
            raise AlreadyExists("SIRET_TAKEN", "a venue with this SIRET already exists") from None

    async def _create_venue(self, session: AsyncSession, principal, request):
        offerer = await access.get_offerer(session, principal, request.offerer_id)
        if request.siret:
            _check_siret(request.siret, offerer)
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
            timezone=_check_timezone(request.timezone)
            if request.HasField("timezone")
            else timezone_for_postal_code(request.postal_code),
        )
        _check_place(venue)
        session.add(venue)
        await session.flush()
        await _publish_upserted(session, venue)
        return pb.CreateVenueResponse(venue=venue_pb(venue))

    async def ListVenues(self, request, context):
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

    async def GetVenue(self, request, context):
        principal = require_role(*access.PRO_ROLES, "service")
        async with self._sessions() as session:
            venue = await access.get_venue(session, principal, request.venue_id)
        return pb.GetVenueResponse(venue=venue_pb(venue))

    async def UpdateVenue(self, request, context):
        principal = access.require_pro()
        try:
            async with self._sessions.begin() as session:
                venue = await access.get_venue(session, principal, request.venue_id)
                for field in EDITABLE:
                    if request.HasField(field):
                        setattr(venue, field, getattr(request, field))
                if request.HasField("siret"):
                    if request.siret:
                        _check_siret(request.siret, await session.get(Offerer, venue.offerer_id))
                    venue.siret = request.siret or None
                if request.HasField("timezone"):
                    venue.timezone = _check_timezone(request.timezone)
                elif request.HasField("postal_code"):
                    venue.timezone = timezone_for_postal_code(venue.postal_code)
                _check_place(venue)
                await session.flush()
                await _publish_upserted(session, venue)
        except IntegrityError:
            raise AlreadyExists("SIRET_TAKEN", "a venue with this SIRET already exists") from None
        return pb.UpdateVenueResponse(venue=venue_pb(venue))
