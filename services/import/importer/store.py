"""The import service's database: venue settings, on-demand sync claims, sync listings and
offer fingerprints (a sync's start and end: sync_records)."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from importer.models import ACTIVE_STATUSES, AllocineVenue, OfferFingerprint, Sync
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists

MAX_REJECTIONS_KEPT = 50
THEATER_TAKEN_CONSTRAINT = "allocine_venues_theater_id_key"


@dataclass(frozen=True)
class NewSettings:
    venue_id: uuid.UUID
    theater_id: str
    price_cents: int
    quantity: int | None
    is_duo: bool
    enabled: bool
    timezone: str


@dataclass
class SyncOutcome:
    """How a sync ended: FAILED when `error` is set."""

    offers_created: int = 0
    offers_updated: int = 0
    stocks_created: int = 0
    stocks_updated: int = 0
    showtimes_imported: int = 0
    showtimes_skipped: int = 0
    movies_rejected: int = 0
    rejected_movies: list[dict[str, str]] = field(default_factory=list)
    error: str = ""
    feed_fingerprint: bytes | None = None
    feed_unchanged: bool = False
    # Showtimes of the rejected movies (metrics only).
    showtimes_rejected: int = 0

    @property
    def status(self) -> str:
        return "FAILED" if self.error else "SUCCEEDED"


# --- settings -------------------------------------------------------------------------------


async def get_settings(session: AsyncSession, venue_id: uuid.UUID) -> AllocineVenue | None:
    return await session.get(AllocineVenue, venue_id)


async def put_settings(session: AsyncSession, new: NewSettings) -> AllocineVenue:
    values = {
        "theater_id": new.theater_id,
        "price_cents": new.price_cents,
        "quantity": new.quantity,
        "is_duo": new.is_duo,
        "enabled": new.enabled,
        "timezone": new.timezone,
        "updated_at": func.now(),
    }
    statement = (
        insert(AllocineVenue)
        .values(venue_id=new.venue_id, **values)
        .on_conflict_do_update(index_elements=[AllocineVenue.venue_id], set_=values)
        .returning(AllocineVenue)
        .execution_options(populate_existing=True)
    )
    try:
        async with session.begin_nested():
            return (await session.execute(statement)).scalar_one()
    except IntegrityError as error:
        if violated_constraint(error) == THEATER_TAKEN_CONSTRAINT:
            raise AlreadyExists(
                "THEATER_TAKEN", "another venue already imports this Allociné theater"
            ) from None
        raise


async def remember_timezone(session: AsyncSession, venue_id: uuid.UUID, timezone: str) -> None:
    await session.execute(
        update(AllocineVenue)
        .where(AllocineVenue.venue_id == venue_id, AllocineVenue.timezone != timezone)
        .values(timezone=timezone)
    )


async def enabled_venue_ids(session: AsyncSession, timezones: tuple[str, ...]) -> list[uuid.UUID]:
    query = select(AllocineVenue.venue_id).where(AllocineVenue.enabled)
    if timezones:
        query = query.where(AllocineVenue.timezone.in_(timezones))
    return list(await session.scalars(query.order_by(AllocineVenue.venue_id)))


# --- syncs ----------------------------------------------------------------------------------


async def fail_stale_syncs(
    session: AsyncSession, stale_after: float, venue_id: uuid.UUID | None = None
) -> None:
    """Ends as FAILED the syncs (of the venue, or of all) under way without progress for too
    long (their process died): they would block every later sync of their venue."""
    where = [
        Sync.status.in_(ACTIVE_STATUSES),
        Sync.heartbeat_at < func.now() - timedelta(seconds=stale_after),
    ]
    if venue_id is not None:
        where.append(Sync.venue_id == venue_id)
    await session.execute(
        update(Sync)
        .where(*where)
        .values(
            status="FAILED",
            finished_at=func.now(),
            error=f"interrupted: no progress for {stale_after:.0f} s",
        )
    )


async def claim_sync(
    session: AsyncSession, venue_id: uuid.UUID, trigger: str, stale_after: float
) -> tuple[Sync, bool]:
    """A new PENDING sync of the venue, or the one already under way: (sync, created)."""
    await fail_stale_syncs(session, stale_after, venue_id)
    statement = (
        insert(Sync)
        .values(id=uuid.uuid4(), venue_id=venue_id, status="PENDING", trigger=trigger)
        .on_conflict_do_nothing(
            index_elements=[Sync.venue_id],
            index_where=text("status IN ('PENDING', 'RUNNING')"),
        )
        .returning(Sync)
    )
    created = (await session.execute(statement)).scalar_one_or_none()
    if created is not None:
        return created, True
    active = await session.scalar(
        select(Sync).where(Sync.venue_id == venue_id, Sync.status.in_(ACTIVE_STATUSES))
    )
    if active is None:  # it ended between the two statements: try once more
        return await claim_sync(session, venue_id, trigger, stale_after)
    return active, False


async def heartbeat(session: AsyncSession, sync_id: uuid.UUID) -> None:
    await session.execute(update(Sync).where(Sync.id == sync_id).values(heartbeat_at=func.now()))


async def list_syncs(
    session: AsyncSession, venue_id: uuid.UUID, offset: int, limit: int
) -> list[Sync]:
    return list(
        await session.scalars(
            select(Sync)
            .where(Sync.venue_id == venue_id)
            .order_by(Sync.created_at.desc(), Sync.id)
            .offset(offset)
            .limit(limit)
        )
    )


# --- fingerprints ---------------------------------------------------------------------------


async def fingerprints(session: AsyncSession, venue_id: uuid.UUID) -> dict[str, bytes]:
    rows = await session.execute(
        select(OfferFingerprint.provider_reference, OfferFingerprint.fingerprint).where(
            OfferFingerprint.venue_id == venue_id
        )
    )
    return {reference: fingerprint for reference, fingerprint in rows}


async def save_fingerprints(
    session: AsyncSession, venue_id: uuid.UUID, sent: dict[str, bytes], now: datetime
) -> None:
    if not sent:
        return
    statement = insert(OfferFingerprint).values(
        [
            {"venue_id": venue_id, "provider_reference": ref, "fingerprint": fp, "synced_at": now}
            for ref, fp in sent.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[OfferFingerprint.venue_id, OfferFingerprint.provider_reference],
            set_={"fingerprint": statement.excluded.fingerprint, "synced_at": now},
        )
    )
