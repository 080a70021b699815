"""A price category's (a tariff's) life by a pro's hand: created, found for a bare price,
edited, deleted. Each change applies the rules (catalog.domain.price_categories) and returns
the events of the stocks it changed, to record in the outbox.

A category given to a stock is share-locked until the stock is written; a category is locked
for an edit or a deletion before its stocks: so the stocks of a category being edited are
known and stay the same, and a new price (which cascades to its stocks) never fails a stock's
foreign key nor waits in a cycle. A stock's own category is not locked again: the stock's row
lock already orders a new price after its edit."""

import uuid
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog import events
from catalog.domain import price_categories as rules
from catalog.domain import stocks as stock_rules
from catalog.models import Offer, PriceCategory, Stock
from catalog.resources import stock_pb
from passculture.catalog.v1.reasons import Reason
from pclib.errors import AlreadyExists, InvalidArgument, NotFound

LABEL_INDEX = "uq_price_categories_offer_label"


def live(offer_id: uuid.UUID) -> Select[PriceCategory]:
    """The offer's categories (not deleted), cheapest first."""
    return (
        select(PriceCategory)
        .where(PriceCategory.offer_id == offer_id, PriceCategory.deleted_at.is_(None))
        .order_by(PriceCategory.price_cents, PriceCategory.created_at, PriceCategory.id)
    )


async def _locked_categories(session: AsyncSession, offer_id: uuid.UUID) -> list[PriceCategory]:
    """The offer's categories, under the offer's lock (NO KEY UPDATE: stocks and categories
    may still be inserted, which take a KEY SHARE lock for their foreign key)."""
    await session.execute(
        select(Offer.id).where(Offer.id == offer_id).with_for_update(key_share=True)
    )
    return list(await session.scalars(live(offer_id)))


async def _share(
    session: AsyncSession, category_id: uuid.UUID, price_cents: int | None = None
) -> PriceCategory | None:
    """The live category, share-locked (still of this price, when given)."""
    query = select(PriceCategory).where(
        PriceCategory.id == category_id, PriceCategory.deleted_at.is_(None)
    )
    if price_cents is not None:
        query = query.where(PriceCategory.price_cents == price_cents)
    return await session.scalar(
        query.with_for_update(read=True).execution_options(populate_existing=True)
    )


async def _insert(
    session: AsyncSession, offer_id: uuid.UUID, label: str, price_cents: int
) -> PriceCategory:
    category = PriceCategory(offer_id=offer_id, label=label, price_cents=price_cents)
    session.add(category)
    await _flush(session, label)
    return category


async def _flush(session: AsyncSession, label: str) -> None:
    """Flushes; a label taken meanwhile (the unique index) is PRICE_CATEGORY_LABEL_TAKEN."""
    try:
        await session.flush()
    except IntegrityError as error:
        if LABEL_INDEX not in str(error.orig):
            raise
        raise AlreadyExists(
            Reason.PRICE_CATEGORY_LABEL_TAKEN, f"the offer already has a category {label!r}"
        ) from None


async def create(
    session: AsyncSession, offer_id: uuid.UUID, label: str, price_cents: int
) -> PriceCategory:
    """A pro's new category of the offer."""
    existing = await _locked_categories(session, offer_id)
    checked = rules.new_category(label, price_cents, existing)
    return await _insert(session, offer_id, checked, price_cents)


async def for_price(
    session: AsyncSession, offer_id: uuid.UUID, price_cents: int, own: uuid.UUID | None = None
) -> PriceCategory:
    """The offer's category of this price, created when missing ("Tarif unique" for the
    first): what a stock given a bare price gets. `own`: the stock's current category."""
    stock_rules.check_price(price_cents)
    existing = await _locked_categories(session, offer_id)
    while (found := rules.of_price(existing, price_cents)) is not None:
        if found.id == own or await _share(session, found.id, price_cents) is not None:
            return found
        # Its price changed before the share lock: look again.
        existing = list(
            await session.scalars(live(offer_id).execution_options(populate_existing=True))
        )
    rules.check_room(len(existing))
    label = rules.default_label({category.label for category in existing})
    return await _insert(session, offer_id, label, price_cents)


async def of_offer(
    session: AsyncSession, offer_id: uuid.UUID, category_id: uuid.UUID, own: uuid.UUID | None
) -> PriceCategory:
    """The offer's live category with this id (share-locked unless it is `own`, the stock's
    current category)."""
    if category_id == own:
        category = await session.get(PriceCategory, category_id)
    else:
        category = await _share(session, category_id)
    if category is None or category.offer_id != offer_id or category.deleted_at is not None:
        raise NotFound(Reason.PRICE_CATEGORY_NOT_FOUND, "price category not found")
    return category


async def of_stock(
    session: AsyncSession,
    offer_id: uuid.UUID,
    category_id: uuid.UUID | None,
    price_cents: int | None,
    own: uuid.UUID | None = None,
) -> PriceCategory:
    """The category a stock of the offer is given: the one named (with the same price, if a
    price is given too), else the one of the bare price. `own`: the stock's current category
    (none for a new stock)."""
    if category_id is not None:
        category = await of_offer(session, offer_id, category_id, own)
        rules.check_same_price(category.price_cents, price_cents)
        return category
    if price_cents is None:
        raise InvalidArgument(Reason.PRICE_REQUIRED, "price_category_id or price_cents is required")
    return await for_price(session, offer_id, price_cents, own)


async def _lock(session: AsyncSession, category: PriceCategory) -> list[Stock]:
    """Locks the category, then every stock of it (deleted ones too, in id order); answers
    the stocks."""
    await session.refresh(category, with_for_update=True)
    if category.deleted_at is not None:  # deleted meanwhile
        raise NotFound(Reason.PRICE_CATEGORY_NOT_FOUND, "price category not found")
    return list(
        await session.scalars(
            select(Stock)
            .where(Stock.price_category_id == category.id)
            .order_by(Stock.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


async def edit(
    session: AsyncSession,
    category: PriceCategory,
    venue_id: uuid.UUID,
    now: datetime,
    *,
    label: str | None = None,
    price_cents: int | None = None,
) -> list[events.Event]:
    """Renames and/or reprices the category. A new price reaches its stocks (the foreign key
    cascades it) for new bookings only, and becomes their edited price (an import keeps it);
    returns a `stock.updated` for each future live stock."""
    stocks = await _lock(session, category)
    if label is not None:
        checked = rules.check_label(label)
        if checked != category.label:
            others = await session.scalars(
                live(category.offer_id).where(PriceCategory.id != category.id)
            )
            rules.check_label_free(checked, (other.label for other in others))
            category.label = checked
    if price_cents is None or price_cents == category.price_cents:
        await _flush(session, category.label)
        return []
    stock_rules.check_price(price_cents)
    category.price_cents = price_cents
    await _flush(session, category.label)
    changed = []
    for stock in stocks:
        stock.price_cents = price_cents  # as the cascade left it
        if stock.deleted_at is None and stock.starts_at > now:
            stock.edited_fields = stock_rules.with_edited(stock.edited_fields, "price_cents")
            changed.append(events.stock_updated(stock_pb(stock, category.label), venue_id))
    await session.flush()
    return changed


async def delete(
    session: AsyncSession, category: PriceCategory, venue_id: uuid.UUID, now: datetime
) -> list[events.Event]:
    """Deletes the category and its live stocks (a `stock.deleted` each); refused while one of
    its stocks, even deleted, holds booked places."""
    stocks = await _lock(session, category)
    rules.check_deletable(sum(stock.booked_quantity for stock in stocks))
    deleted = []
    for stock in stocks:
        if stock.deleted_at is None:
            stock.deleted_at = now
            deleted.append(events.stock_deleted(stock.id, stock.offer_id, venue_id, now))
    category.deleted_at = now
    await session.flush()
    return deleted
