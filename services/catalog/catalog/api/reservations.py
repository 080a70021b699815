"""ReservationService: seats for the booking saga (the rules: catalog.reservations)."""

import uuid

import grpc
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import reservations
from catalog.domain.status import ReservationStatus
from catalog.ids import parse_id
from catalog.models import StockReservation
from catalog.resources import stock_pb
from passculture.catalog.v1 import reservation_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib.auth import require_role
from pclib.errors import InvalidArgument, NotFound
from pclib.timestamps import timestamp

STATUS = {
    ReservationStatus.RESERVED: pb.RESERVATION_STATUS_RESERVED,
    ReservationStatus.RELEASED: pb.RESERVATION_STATUS_RELEASED,
}


def _reservation_pb(reservation: reservations.Reservation) -> pb.Reservation:
    return pb.Reservation(
        reservation_id=str(reservation.id),
        stock_id=str(reservation.stock_id or ""),
        quantity=reservation.quantity,
        status=STATUS[reservation.status],
        created_at=timestamp(reservation.created_at),
    )


def _reservation_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            Reason.INVALID_RESERVATION_ID, "reservation_id must be a UUID"
        ) from None


class ReservationServicer(pb_grpc.ReservationServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], pool: AsyncConnectionPool
    ) -> None:
        self._sessions = sessions
        self._pool = pool

    async def ReserveStock(
        self, request: pb.ReserveStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveStockResponse:
        require_role("service")
        reserved = await reservations.reserve(
            self._sessions,
            self._pool,
            _reservation_id(request.reservation_id),
            parse_id(request.stock_id, Reason.STOCK_NOT_FOUND),
            request.quantity,
        )
        return pb.ReserveStockResponse(
            reservation=_reservation_pb(reserved.reservation),
            stock=stock_pb(reserved.stock, reserved.price_category_label),
            offer_title=reserved.offer_title,
        )

    async def ReleaseStock(
        self, request: pb.ReleaseStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseStockResponse:
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions.begin() as session:
            reservation = await reservations.release(session, reservation_id)
        return pb.ReleaseStockResponse(reservation=_reservation_pb(reservation))

    async def GetReservation(
        self, request: pb.GetReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReservationResponse:
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions() as session:
            reservation = await session.get(StockReservation, reservation_id)
        if reservation is None:
            raise NotFound(Reason.RESERVATION_NOT_FOUND, "no such reservation")
        return pb.GetReservationResponse(reservation=_reservation_pb(reservation))
