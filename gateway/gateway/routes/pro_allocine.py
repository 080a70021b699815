"""A pro's Allociné import of a venue (import service ImporterService); others' venues 404."""

from fastapi import APIRouter

from gateway.allocine_views import settings_out, sync_out
from gateway.dependencies import ProImporter
from gateway.routes.pagination import Paging, page
from gateway.schemas.allocine import AllocineSettingsIn, AllocineSettingsOut, SyncOut
from gateway.schemas.common import Page
from passculture.importer.v1 import importer_service_pb2 as pb

router = APIRouter(prefix="/v1/pro/venues/{venue_id}/allocine", tags=["pro Allociné import"])


@router.put("")
async def put_settings(
    venue_id: str, body: AllocineSettingsIn, upstream: ProImporter
) -> AllocineSettingsOut:
    """Creates or replaces the settings. 409 VENUE_WITHOUT_SIRET; 409 THEATER_TAKEN when
    another venue imports this theater; 409 VENUE_LINKED_TO_TICKETING when the venue is linked to
    a ticketing system; 422 INVALID_THEATER_ID, INVALID_PRICE, INVALID_QUANTITY."""
    request = pb.PutAllocineSettingsRequest(
        venue_id=venue_id,
        theater_id=body.theater_id,
        price_cents=body.price_cents,
        quantity=body.quantity,
        is_duo=body.is_duo,
        enabled=body.enabled,
    )
    reply = await upstream.importer.PutAllocineSettings(request)
    return settings_out(reply.settings)


@router.get("")
async def get_settings(venue_id: str, upstream: ProImporter) -> AllocineSettingsOut:
    """404 ALLOCINE_SETTINGS_NOT_FOUND when the venue has none."""
    request = pb.GetAllocineSettingsRequest(venue_id=venue_id)
    return settings_out((await upstream.importer.GetAllocineSettings(request)).settings)


@router.post("/syncs", status_code=202)
async def start_sync(venue_id: str, upstream: ProImporter) -> SyncOut:
    """Starts a sync in the background (PENDING or RUNNING); while one is under way, answers
    that one. Follow it with GET …/syncs. A venue linked to a ticketing system syncs from it."""
    reply = await upstream.importer.StartSync(pb.StartSyncRequest(venue_id=venue_id))
    return sync_out(reply.sync)


@router.get("/syncs")
async def list_syncs(venue_id: str, upstream: ProImporter, paging: Paging) -> Page[SyncOut]:
    """The venue's syncs, newest first."""
    reply = await upstream.importer.ListSyncs(
        pb.ListSyncsRequest(
            venue_id=venue_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(sync_out, reply.syncs), reply.next_page_token)
