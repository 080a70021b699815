"""A stock's (a showtime's) life by a pro's hand: created, edited, deleted. Each change applies
the rules (catalog.domain.stocks) and returns the event to record in the outbox.

An import's changes are set-based: catalog.provider_upsert."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from catalog import events
from catalog.domain import stocks as rules
from catalog.models import PriceCategory, Stock
from catalog.resources import stock_pb


def _values(stock: Stock) -> rules.StockValues:
    return rules.StockValues(
        stock.starts_at, stock.price_cents, stock.quantity, stock.booking_limit_at
    )


async def create(
    session: AsyncSession,
    offer_id: uuid.UUID,
    venue_id: uuid.UUID,
    values: rules.StockValues,
    features: list[str],
    category: PriceCategory,
) -> tuple[Stock, events.Event]:
    """The new stock of the category (flushed: it has its id) and its `stock.updated` event.
    `values` carry the category's price."""
    stock = Stock(
        offer_id=offer_id,
        starts_at=values.starts_at,
        price_category_id=category.id,
        price_cents=values.price_cents,
        quantity=values.quantity,
        booked_quantity=0,
        booking_limit_at=values.booking_limit_at,
        features=features,
        is_active=True,
        edited_fields=[],
    )
    session.add(stock)
    await session.flush()
    return stock, events.stock_updated(stock_pb(stock, category.label), venue_id)


def edit(
    stock: Stock,
    venue_id: uuid.UUID,
    now: datetime,
    category: PriceCategory,
    *,
    starts_at: datetime | None = None,
    quantity: int | rules.Unset | None = rules.UNSET,
    booking_limit_at: datetime | None = None,
    is_active: bool | None = None,
    features: list[str] | None = None,
) -> events.Event:
    """Applies a pro's edit (None, or UNSET for the quantity: unchanged) within the rules, marks
    the values it changed (features included) as edited, and returns its `stock.updated` event
    (with the previous start if it moved). `category`: the stock's category after the edit (its
    price is the stock's)."""
    before = _values(stock)
    values = rules.updated_stock(
        before,
        stock.booked_quantity,
        now,
        starts_at=starts_at,
        price_cents=category.price_cents,
        quantity=quantity,
        booking_limit_at=booking_limit_at,
    )
    stock.price_category_id = category.id
    stock.starts_at = values.starts_at
    stock.price_cents = values.price_cents
    stock.quantity = values.quantity
    stock.booking_limit_at = values.booking_limit_at
    if is_active is not None:
        stock.is_active = is_active
    stock.edited_fields = rules.edited_fields(stock.edited_fields, before, values)
    if features is not None and features != stock.features:
        stock.features = features
        stock.edited_fields = rules.with_edited(stock.edited_fields, "features")
    moved = before.starts_at if values.starts_at != before.starts_at else None
    return events.stock_updated(stock_pb(stock, category.label), venue_id, moved)


def delete(stock: Stock, venue_id: uuid.UUID, now: datetime) -> events.Event:
    """Deletes the stock (until 48 hours after it started) and returns its `stock.deleted`."""
    rules.check_deletable(stock.starts_at, now)
    stock.deleted_at = now
    return events.stock_deleted(stock.id, stock.offer_id, venue_id, now)
