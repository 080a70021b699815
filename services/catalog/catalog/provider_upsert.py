"""The SQL of a provider import: set-based reads and writes of one batch, in the caller's
transaction.

Rows travel to PostgreSQL as one JSON document per statement (json_to_recordset): encoding it
is one C call, where array parameters would cost Python work per element. Times travel as ISO
8601 text, exact to the microsecond.

An unchanged batch costs two reads and writes nothing (no row version, no row lock): the
stocks read back are only those whose values differ from the proposal (or that are deleted,
past or missing), and only new or different rows are written. Stocks about to change are
locked and their rules applied again on the locked values, so a pro's edit made meanwhile
still wins.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from catalog import events
from catalog.domain import price_categories as category_rules
from catalog.domain import provider_import as rules
from catalog.domain.provider_import import (
    CurrentStock,
    ImportedValues,
    ProposedOffer,
    ProposedStock,
)
from catalog.domain.status import OfferSource
from catalog.resources import features_pb
from passculture.catalog.v1 import resources_pb2
from pclib.timestamps import timestamp

SELECT_OFFERS = text("""
SELECT id, provider_reference, title, description, poster_url, duration_minutes
FROM offers
WHERE venue_id = :venue_id AND provider_reference = ANY(CAST(:references AS text[]))
""")

INSERT_OFFERS = text("""
INSERT INTO offers (id, venue_id, title, description, poster_url, duration_minutes, is_duo,
                    is_active, source, provider_reference, created_at)
SELECT gen_random_uuid(), :venue_id, v.title, v.description, v.poster_url, v.duration_minutes,
       v.is_duo, true, :source, v.reference, now()
FROM json_to_recordset(CAST(:rows AS json))
     AS v(reference text, title text, description text, poster_url text, duration_minutes int,
          is_duo boolean)
ON CONFLICT (venue_id, provider_reference) DO NOTHING
RETURNING id, provider_reference
""")

UPDATE_OFFERS = text("""
UPDATE offers AS o
SET title = v.title, description = v.description, poster_url = v.poster_url,
    duration_minutes = v.duration_minutes
FROM json_to_recordset(CAST(:rows AS json))
     AS v(id uuid, title text, description text, poster_url text, duration_minutes int)
WHERE o.id = v.id
  AND (o.title, o.description, o.poster_url, o.duration_minutes)
      IS DISTINCT FROM (v.title, v.description, v.poster_url, v.duration_minutes)
RETURNING o.id
""")

# The proposals that need a look: no stock yet, or a stock that is not exactly, and alive, what
# the import would leave on it (a stock equal to its proposal, not deleted nor past, is left
# alone by every rule). The stock's columns are NULL when it does not exist.
SELECT_STOCKS_TO_CHECK = text("""
SELECT p.position, s.id, s.starts_at, s.price_cents, s.quantity, s.booked_quantity,
       s.booking_limit_at, s.features, s.edited_fields, s.deleted_at IS NOT NULL AS deleted
FROM json_to_recordset(CAST(:rows AS json))
     AS p(position int, offer_id uuid, reference text, starts_at timestamptz, price_cents int,
          quantity int, features text[])
LEFT JOIN stocks s ON s.offer_id = p.offer_id AND s.provider_reference = p.reference
WHERE s.id IS NULL
   OR NOT (s.deleted_at IS NULL AND s.starts_at > :now
           AND s.starts_at = p.starts_at AND s.booking_limit_at = s.starts_at
           AND s.price_cents = p.price_cents AND s.quantity IS NOT DISTINCT FROM p.quantity
           AND s.features = p.features)
""")

LOCK_STOCKS = text("""
SELECT s.id, s.offer_id, s.starts_at, s.price_cents, s.quantity, s.booked_quantity,
       s.booking_limit_at, s.features, s.edited_fields, s.deleted_at IS NOT NULL AS deleted,
       s.is_active, s.price_category_id, c.label AS price_category_label
FROM stocks s JOIN price_categories c ON c.id = s.price_category_id
WHERE s.id = ANY(CAST(:ids AS uuid[]))
ORDER BY s.id
FOR UPDATE OF s
""")

# The live categories of the offers, in the order a bare price picks one.
SELECT_CATEGORIES = text("""
SELECT id, offer_id, label, price_cents
FROM price_categories
WHERE offer_id = ANY(CAST(:offer_ids AS uuid[])) AND deleted_at IS NULL
ORDER BY price_cents, created_at, id
""")

INSERT_CATEGORIES = text("""
INSERT INTO price_categories (id, offer_id, label, price_cents, created_at)
SELECT gen_random_uuid(), v.offer_id, v.label, v.price_cents, now()
FROM json_to_recordset(CAST(:rows AS json)) AS v(offer_id uuid, label text, price_cents int)
ON CONFLICT DO NOTHING
""")

INSERT_STOCKS = text("""
INSERT INTO stocks (id, offer_id, provider_reference, starts_at, price_category_id,
                    price_cents, quantity, booked_quantity, booking_limit_at, features,
                    is_active, edited_fields, created_at, updated_at)
SELECT gen_random_uuid(), v.offer_id, v.reference, v.starts_at, v.price_category_id,
       v.price_cents, v.quantity, 0, v.starts_at, v.features, true, '{}', now(), now()
FROM json_to_recordset(CAST(:rows AS json))
     AS v(offer_id uuid, reference text, starts_at timestamptz, price_category_id uuid,
          price_cents int, quantity int, features text[])
ON CONFLICT (offer_id, provider_reference) DO NOTHING
""")

UPDATE_STOCKS = text("""
UPDATE stocks AS s
SET starts_at = v.starts_at, price_category_id = v.price_category_id,
    price_cents = v.price_cents, quantity = v.quantity,
    booking_limit_at = v.booking_limit_at, features = v.features,
    updated_at = now()
FROM json_to_recordset(CAST(:rows AS json))
     AS v(id uuid, starts_at timestamptz, price_category_id uuid, price_cents int,
          quantity int, booking_limit_at timestamptz, features text[])
WHERE s.id = v.id
""")


@dataclass
class UpsertCounts:
    offers_created: int = 0
    offers_updated: int = 0
    stocks_created: int = 0
    stocks_updated: int = 0
    stocks_skipped: int = 0


class Category(NamedTuple):
    id: str
    label: str
    price_cents: int


# An offer's id (as text) and a price: the category a bare imported price means.
OfferPrice = tuple[str, int]


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"))


def _current(row: Row[Any]) -> CurrentStock:
    return CurrentStock(
        id=row.id,
        starts_at=row.starts_at,
        price_cents=row.price_cents,
        quantity=row.quantity,
        booked_quantity=row.booked_quantity,
        booking_limit_at=row.booking_limit_at,
        features=tuple(row.features),
        edited_fields=frozenset(row.edited_fields),
        deleted=row.deleted,
    )


def _content(row: Row[Any]) -> tuple[str, str, str, int | None]:
    return (row.title, row.description, row.poster_url, row.duration_minutes)


class ProviderUpsert:
    """One batch of a venue's provider offers, written in the session's transaction."""

    def __init__(
        self, session: AsyncSession, venue_id: uuid.UUID, source: OfferSource, now: datetime
    ) -> None:
        self._session = session
        self._venue_id = venue_id
        self._source = source
        self._now = now
        self.counts = UpsertCounts()

    async def run(self, offers: list[ProposedOffer]) -> UpsertCounts:
        if offers:
            offer_ids = await self._upsert_offers(offers)
            await self._upsert_stocks(offers, offer_ids)
        return self.counts

    # --- offers -------------------------------------------------------------------------

    async def _select_offers(self, references: list[str]) -> dict[str, Row[Any]]:
        rows = await self._session.execute(
            SELECT_OFFERS, {"venue_id": self._venue_id, "references": references}
        )
        return {row.provider_reference: row for row in rows}

    async def _upsert_offers(self, offers: list[ProposedOffer]) -> dict[str, uuid.UUID]:
        """Creates the new offers, updates the changed ones; returns every offer's id."""
        existing = await self._select_offers([offer.reference for offer in offers])
        ids = {reference: row.id for reference, row in existing.items()}
        new = [offer for offer in offers if offer.reference not in existing]
        changed = [
            (existing[offer.reference].id, offer)
            for offer in offers
            if offer.reference in existing
            and _content(existing[offer.reference]) != offer.content()
        ]
        if new:
            ids.update(await self._insert_offers(new))
        if changed:
            await self._update_offers(changed)
        return ids

    async def _insert_offers(self, offers: list[ProposedOffer]) -> dict[str, uuid.UUID]:
        rows = [
            {
                "reference": offer.reference,
                "title": offer.title,
                "description": offer.description,
                "poster_url": offer.poster_url,
                "duration_minutes": offer.duration_minutes,
                "is_duo": offer.is_duo,
            }
            for offer in offers
        ]
        result = await self._session.execute(
            INSERT_OFFERS,
            {"venue_id": self._venue_id, "source": self._source, "rows": _json(rows)},
        )
        created = {row.provider_reference: row.id for row in result}
        self.counts.offers_created += len(created)
        lost = [offer.reference for offer in offers if offer.reference not in created]
        if lost:  # created meanwhile by a concurrent import of the same venue
            created.update({ref: row.id for ref, row in (await self._select_offers(lost)).items()})
        return created

    async def _update_offers(self, changed: list[tuple[uuid.UUID, ProposedOffer]]) -> None:
        rows = [
            {
                "id": str(offer_id),
                "title": offer.title,
                "description": offer.description,
                "poster_url": offer.poster_url,
                "duration_minutes": offer.duration_minutes,
            }
            for offer_id, offer in changed
        ]
        result = await self._session.execute(UPDATE_OFFERS, {"rows": _json(rows)})
        self.counts.offers_updated += len(result.all())

    # --- stocks -------------------------------------------------------------------------

    async def _upsert_stocks(
        self, offers: list[ProposedOffer], offer_ids: dict[str, uuid.UUID]
    ) -> None:
        proposals = [
            (str(offer_ids[offer.reference]), stock) for offer in offers for stock in offer.stocks
        ]
        if not proposals:
            return
        rows = [
            {
                "position": position,
                "offer_id": offer_id,
                "reference": stock.reference,
                "starts_at": stock.starts_at.isoformat(),
                "price_cents": stock.price_cents,
                "quantity": stock.quantity,
                "features": stock.features,
            }
            for position, (offer_id, stock) in enumerate(proposals)
        ]
        to_check = await self._session.execute(
            SELECT_STOCKS_TO_CHECK, {"rows": _json(rows), "now": self._now}
        )
        creates: list[dict[str, Any]] = []
        to_update: dict[uuid.UUID, ProposedStock] = {}
        for row in to_check:
            _, proposed = proposals[row.position]
            if row.id is None:
                if rules.is_creatable(proposed, self._now):
                    creates.append(rows[row.position])
                else:
                    self.counts.stocks_skipped += 1
                continue
            current = _current(row)
            values = rules.imported_values(current, proposed, self._now)
            if values is None:
                self.counts.stocks_skipped += 1
            elif values != rules.current_values(current):
                to_update[row.id] = proposed
        if creates:
            await self._insert_stocks(creates)
        if to_update:
            await self._update_stocks(to_update)

    async def _categories(self, needed: set[OfferPrice]) -> dict[OfferPrice, Category]:
        """The category of each (offer, price), created when missing ("Tarif unique" for an
        offer's first): the same rule as a pro's stock with a bare price."""
        offer_ids = sorted({offer_id for offer_id, _ in needed})
        found: dict[OfferPrice, Category] = {}
        for _ in range(2):  # a second look after a concurrent creation took a label
            rows = await self._session.execute(SELECT_CATEGORIES, {"offer_ids": offer_ids})
            by_offer: dict[str, list[Category]] = {}
            for row in rows:
                by_offer.setdefault(str(row.offer_id), []).append(
                    Category(str(row.id), row.label, row.price_cents)
                )
            new: list[dict[str, Any]] = []
            for offer_id, price in sorted(needed):
                existing = by_offer.setdefault(offer_id, [])
                category = category_rules.of_price(existing, price)
                if category is not None:
                    found[(offer_id, price)] = category
                    continue
                category_rules.check_room(len(existing))
                label = category_rules.default_label({c.label for c in existing})
                existing.append(Category("", label, price))
                new.append({"offer_id": offer_id, "label": label, "price_cents": price})
            if not new:
                return found
            await self._session.execute(INSERT_CATEGORIES, {"rows": _json(new)})
        raise RuntimeError("price categories kept being created concurrently")

    async def _insert_stocks(self, rows: list[dict[str, Any]]) -> None:
        categories = await self._categories({(row["offer_id"], row["price_cents"]) for row in rows})
        for row in rows:
            row["price_category_id"] = categories[(row["offer_id"], row["price_cents"])].id
        # The connection's result, which counts the rows (the session's does not say).
        connection = await self._session.connection()
        result = await connection.execute(INSERT_STOCKS, {"rows": _json(rows)})
        self.counts.stocks_created += result.rowcount

    async def _update_stocks(self, proposals: dict[uuid.UUID, ProposedStock]) -> None:
        """Locks the stocks, applies the rules again to their locked values, writes the changes
        and records a `stock.updated` event for each."""
        locked = (await self._session.execute(LOCK_STOCKS, {"ids": list(proposals)})).all()
        updates: list[tuple[Row[Any], ImportedValues]] = []
        for row in locked:
            current = _current(row)
            values = rules.imported_values(current, proposals[row.id], self._now)
            if values is None:
                self.counts.stocks_skipped += 1
            elif values != rules.current_values(current):
                updates.append((row, values))
        if not updates:
            return
        repriced = {
            (str(row.offer_id), values.price_cents)
            for row, values in updates
            if values.price_cents != row.price_cents
        }
        categories = await self._categories(repriced) if repriced else {}

        def category_of(row: Row[Any], values: ImportedValues) -> Category:
            """The stock's own category while its price stays, else the new price's."""
            if values.price_cents == row.price_cents:
                return Category(
                    str(row.price_category_id), row.price_category_label, row.price_cents
                )
            return categories[(str(row.offer_id), values.price_cents)]

        rows = [
            {
                "id": str(row.id),
                "starts_at": values.starts_at.isoformat(),
                "price_category_id": category_of(row, values).id,
                "price_cents": values.price_cents,
                "quantity": values.quantity,
                "booking_limit_at": values.booking_limit_at.isoformat(),
                "features": values.features,
            }
            for row, values in updates
        ]
        await self._session.execute(UPDATE_STOCKS, {"rows": _json(rows)})
        self.counts.stocks_updated += len(updates)
        for row, values in updates:
            await events.record(
                self._session, self._updated_event(row, values, category_of(row, values))
            )

    def _updated_event(
        self, row: Row[Any], values: ImportedValues, category: Category
    ) -> events.Event:
        stock = resources_pb2.Stock(
            id=str(row.id),
            offer_id=str(row.offer_id),
            starts_at=timestamp(values.starts_at),
            price_cents=values.price_cents,
            quantity=values.quantity,
            booked_quantity=row.booked_quantity,
            booking_limit_at=timestamp(values.booking_limit_at),
            features=features_pb(values.features),
            is_active=row.is_active,
            price_category_id=category.id,
            price_category_label=category.label,
        )
        moved = row.starts_at if values.starts_at != row.starts_at else None
        return events.stock_updated(stock, self._venue_id, moved)
