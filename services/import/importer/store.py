"""The import service's database: venue settings, sync listings and offer fingerprints (a
sync's transitions: sync_run)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from importer.models import AllocineVenue, OfferFingerprint, Sync
from passculture.importer.v1.reasons import Reason
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists

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
                Reason.THEATER_TAKEN, "another venue already imports this Allociné theater"
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
