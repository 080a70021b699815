"""The catalog, as the booking service sees it: stock details, seats, and a pro's offerers."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import grpc

from booking.domain.showtime import Showtime
from passculture.booking.v1.reasons import Reason
from passculture.catalog.v1 import account_service_pb2, resources_pb2
from passculture.catalog.v1 import account_service_pb2_grpc as accounts_grpc
from passculture.catalog.v1 import reservation_service_pb2 as reservations_pb
from passculture.catalog.v1 import reservation_service_pb2_grpc as reservations_grpc
from passculture.catalog.v1 import stock_service_pb2 as stocks_pb
from passculture.catalog.v1 import stock_service_pb2_grpc as stocks_grpc
from passculture.catalog.v1.reasons import Reason as CatalogReason
from passculture.common.v1 import reasons as common
from pclib.auth import ServiceToken, TokenIssuer
from pclib.errors import DomainError, Unauthenticated, Unavailable
from pclib.grpc_client import error_info
from pclib.timestamps import to_datetime

SERVICE_NAME = "booking"
TOKEN_TTL_SECONDS = 600
FEATURES = {
    resources_pb2.FEATURE_VF: "VF",
    resources_pb2.FEATURE_VO: "VO",
    resources_pb2.FEATURE_3D: "3D",
}


@dataclass(frozen=True)
class StockDetails:
    stock_id: uuid.UUID
    offer_id: uuid.UUID
    offer_title: str
    is_duo: bool
    starts_at: datetime
    price_cents: int
    price_category_label: str
    features: list[str]
    venue_id: uuid.UUID
    venue_name: str
    venue_siret: str
    venue_timezone: str
    venue_booking_email: str
    venue_address: str
    venue_postal_code: str
    venue_city: str
    offerer_id: uuid.UUID
    offerer_siren: str
    is_bookable: bool
    remaining_quantity: int | None
    # Its reference in the venue's ticketing system, when sold through one.
    ticketing_reference: str | None = None


# The catalog's refusals of seats, as the booking service answers them (anything else: the
# showtime cannot be booked). A released reservation is one the reconciler gave up.
REFUSALS = {
    CatalogReason.SOLD_OUT: Reason.SOLD_OUT,
    CatalogReason.NOT_BOOKABLE: Reason.NOT_BOOKABLE,
    CatalogReason.STOCK_NOT_FOUND: Reason.STOCK_NOT_FOUND,
    CatalogReason.INVALID_QUANTITY: Reason.INVALID_QUANTITY,
    CatalogReason.RESERVATION_RELEASED: Reason.BOOKING_TIMED_OUT,
}
REFUSING_CODES = (
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT,
)


def catalog_unavailable() -> Unavailable:
    return Unavailable(Reason.CATALOG_UNAVAILABLE, "the catalog did not answer, try again later")


class SeatsRefused(Exception):
    """The catalog refused the seats for good (SOLD_OUT, NOT_BOOKABLE, …)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _refusal(error: grpc.aio.AioRpcError) -> SeatsRefused:
    info = error_info(error)
    reason = next((ours for theirs, ours in REFUSALS.items() if theirs == info.reason), None)
    return SeatsRefused(reason or Reason.NOT_BOOKABLE, info.message)


def _offerers_failure(error: grpc.aio.AioRpcError) -> DomainError | None:
    """What to answer when the catalog could not tell a pro's offerers (None: unexpected)."""
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(common.Reason.INVALID_TOKEN, error_info(error).message)
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return catalog_unavailable()
    return None


def _features(values: Iterable[resources_pb2.Feature]) -> list[str]:
    return [FEATURES[feature] for feature in values if feature in FEATURES]


def _ticketing_reference(offer: resources_pb2.Offer, stock: resources_pb2.Stock) -> str | None:
    """A showtime imported from its venue's ticketing system is booked there too."""
    if offer.source == resources_pb2.OFFER_SOURCE_TICKETING and stock.provider_reference:
        return stock.provider_reference
    return None


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, issuer: TokenIssuer, timeout: float) -> None:
        self._stocks = stocks_grpc.StockServiceStub(channel)
        self._reservations = reservations_grpc.ReservationServiceStub(channel)
        self._accounts = accounts_grpc.AccountServiceStub(channel)
        self._service_token = ServiceToken(issuer, SERVICE_NAME, TOKEN_TTL_SECONDS)
        self._timeout = timeout

    async def get_stock(self, stock_id: str) -> StockDetails | None:
        """The stock with its offer and venue; None when the catalog does not know it."""
        try:
            reply = await self._stocks.GetStock(
                stocks_pb.GetStockRequest(stock_id=stock_id),
                metadata=self._service_token.metadata(),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        stock, offer, venue, offerer = reply.stock, reply.offer, reply.venue, reply.offerer
        quantity = stock.quantity if stock.HasField("quantity") else None
        return StockDetails(
            stock_id=uuid.UUID(stock.id),
            offer_id=uuid.UUID(offer.id),
            offer_title=offer.title,
            is_duo=offer.is_duo,
            starts_at=to_datetime(stock.starts_at),
            price_cents=stock.price_cents,
            price_category_label=stock.price_category_label,
            features=_features(stock.features),
            venue_id=uuid.UUID(venue.id),
            venue_name=venue.name,
            venue_siret=venue.siret,
            venue_timezone=venue.timezone,
            venue_booking_email=venue.booking_email,
            venue_address=venue.address,
            venue_postal_code=venue.postal_code,
            venue_city=venue.city,
            offerer_id=uuid.UUID(offerer.id),
            offerer_siren=offerer.siren,
            is_bookable=reply.is_bookable,
            remaining_quantity=None if quantity is None else quantity - stock.booked_quantity,
            ticketing_reference=_ticketing_reference(offer, stock),
        )

    async def reserve(
        self, stock_id: uuid.UUID, quantity: int, reservation_id: uuid.UUID
    ) -> Showtime:
        """Holds the seats, and answers the showtime's facts when they were taken; raises
        SeatsRefused when the catalog says no for good, and grpc.aio.AioRpcError when it could
        not answer (the reconciler settles later)."""
        request = reservations_pb.ReserveStockRequest(
            stock_id=str(stock_id), quantity=quantity, reservation_id=str(reservation_id)
        )
        try:
            reply = await self._reservations.ReserveStock(
                request, metadata=self._service_token.metadata(), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in REFUSING_CODES:
                raise _refusal(error) from error
            raise
        return Showtime(
            amount_cents=reply.stock.price_cents,
            price_category_label=reply.stock.price_category_label,
            starts_at=to_datetime(reply.stock.starts_at),
            features=_features(reply.stock.features),
            offer_title=reply.offer_title,
        )

    async def release(self, reservation_id: uuid.UUID) -> None:
        """Frees the seats, or leaves a tombstone so that the id never reserves again."""
        await self._reservations.ReleaseStock(
            reservations_pb.ReleaseStockRequest(reservation_id=str(reservation_id)),
            metadata=self._service_token.metadata(),
            timeout=self._timeout,
        )

    async def is_reserved(self, reservation_id: uuid.UUID) -> bool | None:
        """True when the seats are held, False when released, None when the catalog never
        heard of this reservation."""
        try:
            reply = await self._reservations.GetReservation(
                reservations_pb.GetReservationRequest(reservation_id=str(reservation_id)),
                metadata=self._service_token.metadata(),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return reply.reservation.status == reservations_pb.RESERVATION_STATUS_RESERVED

    async def offerer_ids_of(self, pro_metadata: tuple[tuple[str, str], ...]) -> set[uuid.UUID]:
        """The offerers the calling pro belongs to, asked with the pro's own token."""
        try:
            reply = await self._accounts.ListMyOfferers(
                account_service_pb2.ListMyOfferersRequest(),
                metadata=pro_metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            failure = _offerers_failure(error)
            if failure is None:
                raise
            raise failure from error
        return {uuid.UUID(offerer.id) for offerer in reply.offerers}
