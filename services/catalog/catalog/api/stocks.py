"""StockService: a stock with its offer, venue and offerer, for other services (booking).

GetStock is one read on the psycopg pool (one round trip, in autocommit): the booking saga asks
it on every booking."""

from datetime import UTC, datetime

import grpc
from psycopg_pool import AsyncConnectionPool

from catalog.domain import stocks as rules
from catalog.domain.status import OffererStatus
from catalog.ids import parse_id
from catalog.resources import offer_pb, offerer_pb, stock_pb, venue_pb
from catalog.stock_reads import stock_details
from passculture.catalog.v1 import stock_service_pb2 as pb
from passculture.catalog.v1 import stock_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib.auth import require_role
from pclib.errors import NotFound


class StockServicer(pb_grpc.StockServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def GetStock(
        self, request: pb.GetStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetStockResponse:
        require_role("service")
        stock_id = parse_id(request.stock_id, Reason.STOCK_NOT_FOUND)
        async with self._pool.connection() as conn:
            details = await stock_details(conn, stock_id)
        if details is None:
            raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
        stock, offer, venue, offerer, label = details
        return pb.GetStockResponse(
            stock=stock_pb(stock, label),
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
