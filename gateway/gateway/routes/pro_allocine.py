"""A pro's Allociné import of a venue (import service ImporterService); others' venues 404."""

from datetime import UTC, datetime

from fastapi import APIRouter

from gateway.dependencies import ProImporter
from gateway.routes.pagination import Paging
from gateway.schemas.allocine import (
    AllocineSettingsIn,
    AllocineSettingsOut,
    RejectedMovieOut,
    SyncOut,
)
from gateway.schemas.common import Page
from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import resources_pb2

router = APIRouter(prefix="/v1/pro/venues/{venue_id}/allocine", tags=["pro Allociné import"])


def _datetime(message, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def _enum_name(enum_type, value: int, prefix: str) -> str:
    return enum_type.Name(value).removeprefix(prefix)


def settings_out(settings: resources_pb2.AllocineSettings) -> AllocineSettingsOut:
    return AllocineSettingsOut(
        venue_id=settings.venue_id,
        theater_id=settings.theater_id,
        theater_relay_id=settings.theater_relay_id,
        price_cents=settings.price_cents,
        quantity=settings.quantity if settings.HasField("quantity") else None,
        is_duo=settings.is_duo,
        enabled=settings.enabled,
        updated_at=_datetime(settings, "updated_at"),
    )


def sync_out(sync: resources_pb2.Sync) -> SyncOut:
    return SyncOut(
        id=sync.id,
        venue_id=sync.venue_id,
        status=_enum_name(resources_pb2.SyncStatus, sync.status, "SYNC_STATUS_"),
        trigger=_enum_name(resources_pb2.SyncTrigger, sync.trigger, "SYNC_TRIGGER_"),
        created_at=_datetime(sync, "created_at"),
        started_at=_datetime(sync, "started_at"),
        finished_at=_datetime(sync, "finished_at"),
        offers_created=sync.offers_created,
        offers_updated=sync.offers_updated,
        stocks_created=sync.stocks_created,
        stocks_updated=sync.stocks_updated,
        showtimes_imported=sync.showtimes_imported,
        showtimes_skipped=sync.showtimes_skipped,
        movies_rejected=sync.movies_rejected,
        error=sync.error or None,
        feed_unchanged=sync.feed_unchanged,
        rejected_movies=[
            RejectedMovieOut(movie=item.movie, reason=item.reason) for item in sync.rejected_movies
        ],
    )


@router.put("")
async def put_settings(
    venue_id: str, body: AllocineSettingsIn, upstream: ProImporter
) -> AllocineSettingsOut:
    """Creates or replaces the settings. 409 VENUE_WITHOUT_SIRET; 409 THEATER_TAKEN when
    another venue imports this theater; 422 INVALID_THEATER_ID, INVALID_PRICE, INVALID_QUANTITY."""
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
    that one. Follow it with GET …/syncs."""
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
    return Page(
        items=[sync_out(sync) for sync in reply.syncs],
        next_page_token=reply.next_page_token or None,
    )
