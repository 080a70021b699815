"""StockService: a stock with its offer, venue and offerer, for other services (booking).

GetStock is one read: it runs in autocommit (one round trip, no BEGIN and no ROLLBACK)."""

from datetime import UTC, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.domain import stocks as rules
from catalog.domain.status import OffererStatus
from catalog.ids import parse_id
from catalog.models import Offer, Offerer, Stock, Venue
from catalog.resources import offer_pb, offerer_pb, stock_pb, venue_pb
from passculture.catalog.v1 import stock_service_pb2 as pb
from passculture.catalog.v1 import stock_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib.auth import require_role
from pclib.db import autocommit_engine
from pclib.errors import NotFound


class StockServicer(pb_grpc.StockServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._reads = async_sessionmaker(autocommit_engine(sessions), expire_on_commit=False)

    async def GetStock(
        self, request: pb.GetStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetStockResponse:
        require_role("service")
        stock_id = parse_id(request.stock_id, Reason.STOCK_NOT_FOUND)
        async with self._reads() as session:
            row = (
                await session.execute(
                    select(Stock, Offer, Venue, Offerer)
                    .join(Offer, Offer.id == Stock.offer_id)
                    .join(Venue, Venue.id == Offer.venue_id)
                    .join(Offerer, Offerer.id == Venue.offerer_id)
                    .where(Stock.id == stock_id, Stock.deleted_at.is_(None))
                )
            ).one_or_none()
        if row is None:
            raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
        stock, offer, venue, offerer = row
        return pb.GetStockResponse(
            stock=stock_pb(stock),
            offer=offer_pb(offer),
            venue=venue_pb(venue),
            offerer=offerer_pb(offerer),
            is_bookable=rules.is_bookable(
                offerer_validated=offerer.status == OffererStatus.VALIDATED,
                offer_active=offer.is_active,
                stock_active=stock.is_active,
                stock_deleted=False,
                starts_at=stock.starts_at,
                booking_limit_at=stock.booking_limit_at,
                quantity=stock.quantity,
                booked=stock.booked_quantity,
                now=datetime.now(UTC),
            ),
        )
