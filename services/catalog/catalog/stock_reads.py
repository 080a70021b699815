"""A stock with its category's label, offer, venue and offerer, read in one query on the psycopg
pool: what GetStock answers the booking saga on every booking."""

import uuid
from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from catalog.domain.status import OffererStatus, OfferSource
from catalog.models import Offer, Offerer, Stock, Venue

# Each table's columns under a prefix of its own (they share names).
STOCK_DETAILS = """
SELECT s.id AS s__id, s.offer_id AS s__offer_id, s.starts_at AS s__starts_at,
    s.price_cents AS s__price_cents, s.quantity AS s__quantity,
    s.booked_quantity AS s__booked_quantity, s.booking_limit_at AS s__booking_limit_at,
    s.features AS s__features, s.is_active AS s__is_active,
    s.price_category_id AS s__price_category_id, s.provider_reference AS s__provider_reference,
    c.label AS price_category_label,
    o.id AS o__id, o.venue_id AS o__venue_id, o.title AS o__title,
    o.description AS o__description, o.poster_url AS o__poster_url,
    o.duration_minutes AS o__duration_minutes, o.is_duo AS o__is_duo,
    o.is_active AS o__is_active, o.source AS o__source,
    v.id AS v__id, v.offerer_id AS v__offerer_id, v.name AS v__name, v.siret AS v__siret,
    v.address AS v__address, v.postal_code AS v__postal_code, v.city AS v__city,
    v.latitude AS v__latitude, v.longitude AS v__longitude,
    v.booking_email AS v__booking_email, v.timezone AS v__timezone,
    f.id AS f__id, f.siren AS f__siren, f.name AS f__name, f.status AS f__status
FROM stocks s
JOIN price_categories c ON c.id = s.price_category_id
JOIN offers o ON o.id = s.offer_id
JOIN venues v ON v.id = o.venue_id
JOIN offerers f ON f.id = v.offerer_id
WHERE s.id = %(id)s AND s.deleted_at IS NULL
"""


class StockDetails(NamedTuple):
    stock: Stock
    offer: Offer
    venue: Venue
    offerer: Offerer
    price_category_label: str


def _columns(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {key.removeprefix(prefix): value for key, value in row.items() if key.startswith(prefix)}


async def stock_details(conn: AsyncConnection[Any], stock_id: uuid.UUID) -> StockDetails | None:
    """The stock (not deleted) with its offer, venue and offerer, as transient rows."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(STOCK_DETAILS, {"id": stock_id})
        row = await cursor.fetchone()
    if row is None:
        return None
    offer = _columns(row, "o__") | {"source": OfferSource(row["o__source"])}
    offerer = _columns(row, "f__") | {"status": OffererStatus(row["f__status"])}
    return StockDetails(
        Stock(**_columns(row, "s__")),
        Offer(**offer),
        Venue(**_columns(row, "v__")),
        Offerer(**offerer),
        row["price_category_label"],
    )
