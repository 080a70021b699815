"""SearchService: bookable offers near a point, nearest first, and an offer's public page.

A search reads the venues of the radius through the GiST index of their stored point, nearest
first, then looks up offers and showtimes one venue at a time until the page is full: it never
reads every offer in the radius.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.domain import stocks as rules
from catalog.domain.geo import check_coordinates, search_radius_km
from catalog.domain.status import OffererStatus
from catalog.ids import parse_id
from catalog.models import Offer, Offerer, PriceCategory, Stock, Venue
from catalog.resources import features_pb
from passculture.catalog.v1 import search_service_pb2 as pb
from passculture.catalog.v1 import search_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib import pagination
from pclib.errors import NotFound
from pclib.timestamps import optional_datetime, timestamp

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

# Distances are chords through the Earth (`<->` between earthdistance's cubes); sec_to_gc
# turns the returned ones into metres along the surface. Both grow together: same order.
#
# The query's shape lets the search stop as soon as the page is full, with a custom plan or
# with the generic plan of the prepared statement (psycopg prepares after five executions):
# - `here` computes the point and its box once (a generic plan would compute them per row);
# - `nearby` has an ORDER BY, so it is planned on its own and yields the venues of the box
#   nearest first;
# - each LATERAL has an ORDER BY or an aggregate, so it stays a lookup per venue, never a
#   join over every offer;
# - the final ORDER BY then sorts each venue's offers as they come (an incremental sort on
#   the presorted distance), and the LIMIT stops reading venues.
# PostgreSQL prefers that incremental sort to a sort of every offer in the radius only if it
# expects the box to hold more than one venue. It guesses 0.5 % of the venues for `&&` (the
# same as `<@` for a point in a box, guessed at 0.1 %), and the radius test sits in the
# LATERAL, where it does not shrink that guess: from about 300 venues on, it expects two.
SEARCH_SQL = f"""
WITH here AS MATERIALIZED (
    SELECT ll_to_earth(%(lat)s, %(lon)s) AS point,
           earth_box(ll_to_earth(%(lat)s, %(lon)s), %(radius_m)s) AS box,
           gc_to_sec(%(radius_m)s) AS max_chord
),
nearby AS (
    SELECT v.id, v.offerer_id, v.name, v.city, v.latitude, v.longitude,
           v.location <-> (SELECT point FROM here) AS chord
    FROM venues v
    WHERE v.location && (SELECT box FROM here)
    ORDER BY chord
)
SELECT o.id, o.title, o.poster_url, o.duration_minutes, o.is_duo,
       v.id AS venue_id, v.name AS venue_name, v.city, v.latitude, v.longitude,
       sec_to_gc(v.chord) AS distance_m, s.min_price_cents, s.next_starts_at, s.prices
FROM nearby v
CROSS JOIN LATERAL (
    SELECT o.id, o.title, o.poster_url, o.duration_minutes, o.is_duo
    FROM offers o
    WHERE o.venue_id = v.id AND o.is_active AND o.title ILIKE %(title_pattern)s
      AND v.chord <= (SELECT max_chord FROM here)
      AND EXISTS (SELECT FROM offerers f
                  WHERE f.id = v.offerer_id AND f.status = '{OffererStatus.VALIDATED}')
    ORDER BY o.id
) o
CROSS JOIN LATERAL (
    SELECT min(s.price_cents) AS min_price_cents, min(s.starts_at) AS next_starts_at,
           jsonb_agg(DISTINCT jsonb_build_object('label', c.label, 'price_cents', c.price_cents))
               AS prices
    FROM stocks s
    JOIN price_categories c ON c.id = s.price_category_id
    WHERE s.offer_id = o.id AND s.deleted_at IS NULL AND s.is_active
      AND s.starts_at > now() AND s.booking_limit_at > now()
      AND s.starts_at >= %(after)s AND s.starts_at < %(before)s
      AND (s.quantity IS NULL OR s.booked_quantity < s.quantity)
) s
WHERE s.next_starts_at IS NOT NULL
ORDER BY v.chord, v.id, o.id
OFFSET %(offset)s LIMIT %(limit)s
"""  # noqa: S608 (only a status constant is formatted in)


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _venue_summary(
    venue_id: uuid.UUID, name: str, city: str, latitude: float, longitude: float
) -> pb.VenueSummary:
    return pb.VenueSummary(
        id=str(venue_id), name=name, city=city, latitude=latitude, longitude=longitude
    )


def _summary(row: Any) -> pb.OfferSummary:
    return pb.OfferSummary(
        id=str(row.id),
        title=row.title,
        poster_url=row.poster_url,
        duration_minutes=row.duration_minutes,
        is_duo=row.is_duo,
        venue=_venue_summary(row.venue_id, row.venue_name, row.city, row.latitude, row.longitude),
        distance_km=round(row.distance_m / 1000, 3),
        min_price_cents=row.min_price_cents,
        next_starts_at=timestamp(row.next_starts_at),
        prices=[
            pb.PriceSummary(label=price["label"], price_cents=price["price_cents"])
            for price in sorted(row.prices, key=lambda p: (p["price_cents"], p["label"]))
        ],
    )


class SearchServicer(pb_grpc.SearchServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], pool: AsyncConnectionPool
    ) -> None:
        self._sessions = sessions
        # The search, a hot path, on the psycopg pool: its one statement as written (and a call
        # cancelled by its deadline gives its connection back, whenever it comes).
        self._pool = pool

    async def SearchOffers(
        self, request: pb.SearchOffersRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchOffersResponse:
        check_coordinates(request.latitude, request.longitude)
        radius_km = search_radius_km(request.radius_km)
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        params = {
            "lat": request.latitude,
            "lon": request.longitude,
            "radius_m": radius_km * 1000,
            "after": optional_datetime(request, "starts_after") or datetime.now(UTC),
            "before": optional_datetime(request, "starts_before") or FAR_FUTURE,
            "title_pattern": _like_pattern(request.query),
            "offset": offset,
            "limit": size + 1,
        }
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=namedtuple_row)
            rows = await (await cursor.execute(SEARCH_SQL, params)).fetchall()
        return pb.SearchOffersResponse(
            offers=[_summary(row) for row in rows[:size]],
            next_page_token=pagination.next_token(offset, size, len(rows)),
        )

    async def GetPublicOffer(
        self, request: pb.GetPublicOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPublicOfferResponse:
        offer_id = parse_id(request.offer_id, Reason.OFFER_NOT_FOUND)
        now = datetime.now(UTC)
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Offer, Venue)
                    .join(Venue, Venue.id == Offer.venue_id)
                    .join(Offerer, Offerer.id == Venue.offerer_id)
                    .where(
                        Offer.id == offer_id,
                        Offer.is_active,
                        Offerer.status == OffererStatus.VALIDATED,
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFound(Reason.OFFER_NOT_FOUND, "offer not found")
            stocks = await session.execute(
                select(Stock, PriceCategory.label)
                .join(PriceCategory, PriceCategory.id == Stock.price_category_id)
                .where(
                    Stock.offer_id == offer_id, Stock.deleted_at.is_(None), Stock.starts_at > now
                )
                .order_by(Stock.starts_at, Stock.id)
            )
            public_stocks = [
                _public_stock(stock, label, row.Offer, now) for stock, label in stocks.all()
            ]
        offer, venue = row.Offer, row.Venue
        return pb.GetPublicOfferResponse(
            id=str(offer.id),
            title=offer.title,
            description=offer.description,
            poster_url=offer.poster_url,
            duration_minutes=offer.duration_minutes,
            is_duo=offer.is_duo,
            venue=_venue_summary(venue.id, venue.name, venue.city, venue.latitude, venue.longitude),
            stocks=public_stocks,
        )


def _public_stock(stock: Stock, label: str, offer: Offer, now: datetime) -> pb.PublicStock:
    return pb.PublicStock(
        id=str(stock.id),
        starts_at=timestamp(stock.starts_at),
        price_cents=stock.price_cents,
        price_category_id=str(stock.price_category_id),
        price_category_label=label,
        remaining_quantity=rules.remaining(stock.quantity, stock.booked_quantity),
        features=features_pb(stock.features),
        is_bookable=rules.is_bookable(
            offerer_validated=True,
            offer_active=offer.is_active,
            stock_active=stock.is_active,
            stock_deleted=False,
            starts_at=stock.starts_at,
            booking_limit_at=stock.booking_limit_at,
            quantity=stock.quantity,
            booked=stock.booked_quantity,
            now=now,
        ),
    )
