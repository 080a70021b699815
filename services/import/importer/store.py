"""The import service's database: venue settings, sync listings and offer fingerprints (a
sync's transitions: sync_run)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from importer.domain.ticketing_rules import TicketingSystem
from importer.models import AllocineVenue, OfferFingerprint, Sync, TicketingLink
from passculture.importer.v1.reasons import Reason
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists

THEATER_TAKEN_CONSTRAINT = "allocine_venues_theater_id_key"
CINEMA_TAKEN_CONSTRAINT = "uq_ticketing_links_cinema"


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
    """The venues the daily run syncs: enabled Allociné settings, and every ticketing link."""
    allocine = select(AllocineVenue.venue_id).where(AllocineVenue.enabled)
    linked = select(TicketingLink.venue_id)
    if timezones:
        allocine = allocine.where(AllocineVenue.timezone.in_(timezones))
        linked = linked.where(TicketingLink.timezone.in_(timezones))
    query = allocine.union(linked).order_by("venue_id")
    return list(await session.scalars(query))


# --- the venue's one source of showtimes ----------------------------------------------------


async def lock_venue_source(session: AsyncSession, venue_id: uuid.UUID) -> None:
    """Serialises the writers of a venue's Allociné settings and ticketing link until the
    transaction ends: checking the other source then writing cannot interleave."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"venue-source:{venue_id}"},
    )


async def allocine_enabled(session: AsyncSession, venue_id: uuid.UUID) -> bool:
    settings = await get_settings(session, venue_id)
    return settings is not None and settings.enabled


# --- ticketing links ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLink:
    venue_id: uuid.UUID
    system: TicketingSystem
    cinema_id: str
    account_id: str
    secret_sealed: bytes
    timezone: str


async def get_link(session: AsyncSession, venue_id: uuid.UUID) -> TicketingLink | None:
    return await session.get(TicketingLink, venue_id)


async def put_link(session: AsyncSession, new: NewLink) -> TicketingLink:
    values = {
        "system": new.system,
        "cinema_id": new.cinema_id,
        "account_id": new.account_id,
        "secret_sealed": new.secret_sealed,
        "timezone": new.timezone,
        "updated_at": func.now(),
    }
    statement = (
        insert(TicketingLink)
        .values(venue_id=new.venue_id, **values)
        .on_conflict_do_update(index_elements=[TicketingLink.venue_id], set_=values)
        .returning(TicketingLink)
        .execution_options(populate_existing=True)
    )
    try:
        async with session.begin_nested():
            return (await session.execute(statement)).scalar_one()
    except IntegrityError as error:
        if violated_constraint(error) == CINEMA_TAKEN_CONSTRAINT:
            raise AlreadyExists(
                Reason.TICKETING_CINEMA_TAKEN, "another venue is linked to this cinema"
            ) from None
        raise


async def delete_link(session: AsyncSession, venue_id: uuid.UUID) -> bool:
    result = await session.execute(delete(TicketingLink).where(TicketingLink.venue_id == venue_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
