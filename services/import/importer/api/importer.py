"""ImporterService: a venue's Allociné settings and syncs, for its pros (and admins).

Whose venue it is, and whether it has a SIRET, is the catalog's answer to GetVenue asked with
the caller's own token: a pro gets only its own venues (others' answer VENUE_NOT_FOUND), an
admin any venue. That one call checks ownership and reads the venue.
"""

import uuid

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from importer import store, sync_run
from importer.api.convert import link_pb, settings_pb
from importer.background import BackgroundSyncs
from importer.catalog_client import CallerMetadata, CatalogClient, CatalogVenue
from importer.domain import settings_rules, theater_ids, ticketing_rules
from importer.domain.status import SyncTrigger
from importer.events import sync_pb
from importer.models import AllocineVenue
from importer.sync import Syncer
from importer.ticketing.secrets import SecretBox
from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import importer_service_pb2_grpc as pb_grpc
from passculture.importer.v1 import resources_pb2
from passculture.importer.v1.reasons import Reason
from pclib import pagination
from pclib.auth import require_role
from pclib.errors import InvalidArgument, NotFound
from pclib.idempotency import idempotent

CALLER_ROLES = ("pro", "admin")


def _caller_metadata(context: grpc.aio.ServicerContext) -> CallerMetadata:
    """The caller's token (already verified by the interceptor), to forward to the catalog."""
    return tuple(
        (key, value) for key, value in context.invocation_metadata() or () if key == "authorization"
    )


class ImporterServicer(pb_grpc.ImporterServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker,
        catalog: CatalogClient,
        syncer: Syncer,
        background: BackgroundSyncs,
        secrets: SecretBox,
    ) -> None:
        self._secrets = secrets
        self._sessions = sessions
        self._catalog = catalog
        self._syncer = syncer
        self._background = background

    async def _venue(self, context: grpc.aio.ServicerContext, venue_id: str) -> CatalogVenue:
        require_role(*CALLER_ROLES)
        return await self._catalog.venue_of_caller(venue_id, _caller_metadata(context))

    async def PutAllocineSettings(
        self, request: pb.PutAllocineSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutAllocineSettingsResponse:
        venue = await self._venue(context, request.venue_id)
        settings_rules.check_siret(venue.siret)
        quantity = request.quantity if request.HasField("quantity") else None
        settings_rules.check_price(request.price_cents)
        settings_rules.check_quantity(quantity)
        new = store.NewSettings(
            venue_id=uuid.UUID(venue.id),
            theater_id=theater_ids.internal_id(request.theater_id),
            price_cents=request.price_cents,
            quantity=quantity,
            is_duo=request.is_duo if request.HasField("is_duo") else True,
            enabled=request.enabled if request.HasField("enabled") else True,
            timezone=venue.timezone,
        )
        async with self._sessions.begin() as session:
            await store.lock_venue_source(session, new.venue_id)
            if new.enabled:
                linked = await store.get_link(session, new.venue_id) is not None
                ticketing_rules.check_not_linked_to_ticketing(linked)
            saved = await store.put_settings(session, new)
        return pb.PutAllocineSettingsResponse(settings=settings_pb(saved))

    async def GetAllocineSettings(
        self, request: pb.GetAllocineSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAllocineSettingsResponse:
        venue = await self._venue(context, request.venue_id)
        async with self._sessions() as session:
            settings = await _settings(session, uuid.UUID(venue.id))
        return pb.GetAllocineSettingsResponse(settings=settings_pb(settings))

    async def StartSync(
        self, request: pb.StartSyncRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartSyncResponse:
        venue = await self._venue(context, request.venue_id)
        settings_rules.check_siret(venue.siret)
        principal = require_role(*CALLER_ROLES)
        claimed: list[uuid.UUID] = []

        async def claim(session: AsyncSession) -> pb.StartSyncResponse:
            if await store.get_link(session, uuid.UUID(venue.id)) is None:
                await _settings(session, uuid.UUID(venue.id))
            sync, created = await sync_run.claim(
                session,
                uuid.UUID(venue.id),
                SyncTrigger.ON_DEMAND,
                self._syncer.stale_after_seconds,
            )
            if created:
                claimed.append(sync.id)
            return pb.StartSyncResponse(sync=sync_pb(sync))

        reply = await idempotent(
            self._sessions,
            context,
            caller=principal.subject,
            method="StartSync",
            request=request,
            response_type=pb.StartSyncResponse,
            create=claim,
        )
        for sync_id in claimed:  # committed: run it
            self._background.start(sync_id)
        return reply

    async def ListSyncs(
        self, request: pb.ListSyncsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSyncsResponse:
        venue = await self._venue(context, request.venue_id)
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            syncs = await store.list_syncs(session, uuid.UUID(venue.id), offset, size + 1)
        return pb.ListSyncsResponse(
            syncs=[sync_pb(sync) for sync in syncs[:size]],
            next_page_token=pagination.next_token(offset, size, len(syncs)),
        )

    async def PutTicketingLink(
        self, request: pb.PutTicketingLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutTicketingLinkResponse:
        venue = await self._venue(context, request.venue_id)
        system = SYSTEMS.get(request.system)
        if system is None:
            raise InvalidArgument(
                Reason.INVALID_TICKETING_SYSTEM, "system must be one of CDS, BOOST"
            )
        ticketing_rules.check_account(request.cinema_id, request.account_id)
        ticketing_rules.check_secret(request.secret)
        settings_rules.check_siret(venue.siret)
        new = store.NewLink(
            venue_id=uuid.UUID(venue.id),
            system=system,
            cinema_id=request.cinema_id,
            account_id=request.account_id,
            secret_sealed=self._secrets.seal(request.secret),
            timezone=venue.timezone,
        )
        async with self._sessions.begin() as session:
            await store.lock_venue_source(session, new.venue_id)
            ticketing_rules.check_not_importing_from_allocine(
                await store.allocine_enabled(session, new.venue_id)
            )
            saved = await store.put_link(session, new)
        return pb.PutTicketingLinkResponse(link=link_pb(saved))

    async def GetTicketingLink(
        self, request: pb.GetTicketingLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTicketingLinkResponse:
        venue = await self._venue(context, request.venue_id)
        async with self._sessions() as session:
            link = await store.get_link(session, uuid.UUID(venue.id))
        if link is None:
            raise _no_link()
        return pb.GetTicketingLinkResponse(link=link_pb(link))

    async def DeleteTicketingLink(
        self, request: pb.DeleteTicketingLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteTicketingLinkResponse:
        venue = await self._venue(context, request.venue_id)
        async with self._sessions.begin() as session:
            if not await store.delete_link(session, uuid.UUID(venue.id)):
                raise _no_link()
        return pb.DeleteTicketingLinkResponse()


SYSTEMS = {
    resources_pb2.TICKETING_SYSTEM_CDS: ticketing_rules.TicketingSystem.CDS,
    resources_pb2.TICKETING_SYSTEM_BOOST: ticketing_rules.TicketingSystem.BOOST,
}


def _no_link() -> NotFound:
    return NotFound(Reason.TICKETING_LINK_NOT_FOUND, "this venue has no ticketing system link")


async def _settings(session: AsyncSession, venue_id: uuid.UUID) -> AllocineVenue:
    settings = await store.get_settings(session, venue_id)
    if settings is None:
        raise NotFound(
            Reason.ALLOCINE_SETTINGS_NOT_FOUND, "this venue has no Allociné import settings"
        )
    return settings
