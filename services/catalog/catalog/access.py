"""Who may see what: a pro reaches only its own offerers' venues, offers and stocks.

Anything outside the caller's reach is reported exactly like something that does not exist.
"""

import uuid

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from catalog.ids import parse_id
from catalog.models import Membership, Offer, Offerer, PriceCategory, Stock, Venue
from passculture.catalog.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib.auth import Principal, require_role
from pclib.errors import NotFound, Unauthenticated

PRO_ROLES = ("pro", "admin")


def require_pro() -> Principal:
    return require_role(*PRO_ROLES)


def user_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Unauthenticated(
            common.Reason.INVALID_TOKEN, "the token's subject is not a user"
        ) from None


def provider_offerer_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Unauthenticated(
            common.Reason.INVALID_TOKEN, "the token's subject is not an offerer"
        ) from None


def member_of(
    principal: Principal, offerer_column: InstrumentedAttribute[uuid.UUID]
) -> ColumnElement[bool]:
    """A SQL condition: the caller belongs to the offerer (a provider's key acts for one)."""
    if principal.role == "provider":
        return offerer_column == provider_offerer_id(principal)
    mine = select(Membership.offerer_id).where(Membership.user_id == user_id(principal))
    return offerer_column.in_(mine)


def offerer_visible(
    principal: Principal, offerer_column: InstrumentedAttribute[uuid.UUID]
) -> ColumnElement[bool]:
    """A SQL condition: the offerer is one of the caller's (admins see every offerer)."""
    return true() if principal.role == "admin" else member_of(principal, offerer_column)


async def get_offerer(session: AsyncSession, principal: Principal, offerer_id: str) -> Offerer:
    oid = parse_id(offerer_id, Reason.OFFERER_NOT_FOUND)
    offerer = await session.scalar(
        select(Offerer).where(Offerer.id == oid, offerer_visible(principal, Offerer.id))
    )
    if offerer is None:
        raise NotFound(Reason.OFFERER_NOT_FOUND, "offerer not found")
    return offerer


async def get_venue(session: AsyncSession, principal: Principal, venue_id: str) -> Venue:
    vid = parse_id(venue_id, Reason.VENUE_NOT_FOUND)
    query = select(Venue).where(Venue.id == vid)
    if principal.role != "service":
        query = query.where(offerer_visible(principal, Venue.offerer_id))
    venue = await session.scalar(query)
    if venue is None:
        raise NotFound(Reason.VENUE_NOT_FOUND, "venue not found")
    return venue


def _offers_of(principal: Principal) -> Select[Offer, Venue]:
    return (
        select(Offer, Venue)
        .join(Venue, Venue.id == Offer.venue_id)
        .where(offerer_visible(principal, Venue.offerer_id))
    )


async def get_offer(
    session: AsyncSession, principal: Principal, offer_id: str
) -> tuple[Offer, Venue]:
    oid = parse_id(offer_id, Reason.OFFER_NOT_FOUND)
    row = (await session.execute(_offers_of(principal).where(Offer.id == oid))).one_or_none()
    if row is None:
        raise NotFound(Reason.OFFER_NOT_FOUND, "offer not found")
    return row.Offer, row.Venue


async def get_stock(
    session: AsyncSession, principal: Principal, stock_id: str, *, for_update: bool = False
) -> tuple[Stock, Offer, Venue]:
    sid = parse_id(stock_id, Reason.STOCK_NOT_FOUND)
    query = (
        select(Stock, Offer, Venue)
        .join(Offer, Offer.id == Stock.offer_id)
        .join(Venue, Venue.id == Offer.venue_id)
        .where(
            Stock.id == sid,
            Stock.deleted_at.is_(None),
            offerer_visible(principal, Venue.offerer_id),
        )
    )
    if for_update:
        query = query.with_for_update(of=Stock)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
    return row.Stock, row.Offer, row.Venue


async def get_price_category(
    session: AsyncSession, principal: Principal, category_id: str
) -> tuple[PriceCategory, Offer, Venue]:
    cid = parse_id(category_id, Reason.PRICE_CATEGORY_NOT_FOUND)
    query = (
        select(PriceCategory, Offer, Venue)
        .join(Offer, Offer.id == PriceCategory.offer_id)
        .join(Venue, Venue.id == Offer.venue_id)
        .where(
            PriceCategory.id == cid,
            PriceCategory.deleted_at.is_(None),
            offerer_visible(principal, Venue.offerer_id),
        )
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise NotFound(Reason.PRICE_CATEGORY_NOT_FOUND, "price category not found")
    return row.PriceCategory, row.Offer, row.Venue
