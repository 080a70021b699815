"""OfferService: a pro's offers (films) and their stocks (showtimes)."""

from datetime import UTC, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, events
from catalog.domain import stocks as rules
from catalog.domain.offers import check_offer
from catalog.domain.status import OfferSource
from catalog.ids import filter_id
from catalog.models import Offer, Stock, Venue
from catalog.resources import features_from_pb, offer_pb, stock_pb
from catalog.timestamps import optional_datetime, to_datetime
from passculture.catalog.v1 import offer_service_pb2 as pb
from passculture.catalog.v1 import offer_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib import pagination
from pclib.auth import Principal
from pclib.errors import InvalidArgument
from pclib.idempotency import idempotent

OFFER_FIELDS = ("title", "description", "poster_url", "duration_minutes", "is_duo", "is_active")


def _values(stock: Stock) -> rules.StockValues:
    return rules.StockValues(
        stock.starts_at, stock.price_cents, stock.quantity, stock.booking_limit_at
    )


def _quantity(request: pb.UpdateStockRequest) -> int | rules.Unset | None:
    if request.clear_quantity:
        return None
    return request.quantity if request.HasField("quantity") else rules.UNSET


class OfferServicer(pb_grpc.OfferServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def CreateOffer(
        self, request: pb.CreateOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOfferResponse:
        principal = access.require_pro()
        return await idempotent(
            self._sessions,
            context,
            caller=principal.subject,
            method="CreateOffer",
            request=request,
            response_type=pb.CreateOfferResponse,
            create=lambda session: self._create_offer(session, principal, request),
        )

    async def _create_offer(
        self, session: AsyncSession, principal: Principal, request: pb.CreateOfferRequest
    ) -> pb.CreateOfferResponse:
        venue = await access.get_venue(session, principal, request.venue_id)
        duration = request.duration_minutes if request.HasField("duration_minutes") else None
        check_offer(request.title, duration)
        offer = Offer(
            venue_id=venue.id,
            title=request.title,
            description=request.description,
            poster_url=request.poster_url,
            duration_minutes=duration,
            is_duo=request.is_duo,
            is_active=True,
            source=OfferSource.MANUAL,
        )
        session.add(offer)
        await session.flush()
        return pb.CreateOfferResponse(offer=offer_pb(offer))

    async def ListOffers(
        self, request: pb.ListOffersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOffersResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        query = (
            select(Offer)
            .join(Venue, Venue.id == Offer.venue_id)
            .where(access.offerer_visible(principal, Venue.offerer_id))
        )
        if request.venue_id:
            query = query.where(Offer.venue_id == filter_id(request.venue_id))
        async with self._sessions() as session:
            offers = list(
                await session.scalars(
                    query.order_by(Offer.created_at.desc(), Offer.id).offset(offset).limit(size + 1)
                )
            )
        return pb.ListOffersResponse(
            offers=[offer_pb(o) for o in offers[:size]],
            next_page_token=pagination.next_token(offset, size, len(offers)),
        )

    async def GetOffer(
        self, request: pb.GetOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOfferResponse:
        principal = access.require_pro()
        async with self._sessions() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
        return pb.GetOfferResponse(offer=offer_pb(offer))

    async def UpdateOffer(
        self, request: pb.UpdateOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateOfferResponse:
        principal = access.require_pro()
        async with self._sessions.begin() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
            for field in OFFER_FIELDS:
                if request.HasField(field):
                    setattr(offer, field, getattr(request, field))
            check_offer(offer.title, offer.duration_minutes)
        return pb.UpdateOfferResponse(offer=offer_pb(offer))

    async def CreateStock(
        self, request: pb.CreateStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateStockResponse:
        principal = access.require_pro()
        if not request.HasField("starts_at"):
            raise InvalidArgument(Reason.INVALID_STARTS_AT, "starts_at is required")
        return await idempotent(
            self._sessions,
            context,
            caller=principal.subject,
            method="CreateStock",
            request=request,
            response_type=pb.CreateStockResponse,
            create=lambda session: self._create_stock(session, principal, request),
        )

    async def _create_stock(
        self, session: AsyncSession, principal: Principal, request: pb.CreateStockRequest
    ) -> pb.CreateStockResponse:
        values = rules.new_stock(
            starts_at=to_datetime(request.starts_at),
            price_cents=request.price_cents,
            quantity=request.quantity if request.HasField("quantity") else None,
            booking_limit_at=optional_datetime(request, "booking_limit_at"),
            now=datetime.now(UTC),
        )
        offer, venue = await access.get_offer(session, principal, request.offer_id)
        stock = Stock(
            offer_id=offer.id,
            starts_at=values.starts_at,
            price_cents=values.price_cents,
            quantity=values.quantity,
            booked_quantity=0,
            booking_limit_at=values.booking_limit_at,
            features=features_from_pb(request.features),
            is_active=True,
            edited_fields=[],
        )
        session.add(stock)
        await session.flush()
        await events.record(session, events.stock_updated(stock_pb(stock), venue.id))
        return pb.CreateStockResponse(stock=stock_pb(stock))

    async def ListStocks(
        self, request: pb.ListStocksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStocksResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
            stocks = list(
                await session.scalars(
                    select(Stock)
                    .where(Stock.offer_id == offer.id, Stock.deleted_at.is_(None))
                    .order_by(Stock.starts_at, Stock.id)
                    .offset(offset)
                    .limit(size + 1)
                )
            )
        return pb.ListStocksResponse(
            stocks=[stock_pb(s) for s in stocks[:size]],
            next_page_token=pagination.next_token(offset, size, len(stocks)),
        )

    async def UpdateStock(
        self, request: pb.UpdateStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateStockResponse:
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stock, _, venue = await access.get_stock(
                session, principal, request.stock_id, for_update=True
            )
            before = _values(stock)
            values = rules.updated_stock(
                before,
                stock.booked_quantity,
                now,
                starts_at=optional_datetime(request, "starts_at"),
                price_cents=request.price_cents if request.HasField("price_cents") else None,
                quantity=_quantity(request),
                booking_limit_at=optional_datetime(request, "booking_limit_at"),
            )
            stock.starts_at = values.starts_at
            stock.price_cents = values.price_cents
            stock.quantity = values.quantity
            stock.booking_limit_at = values.booking_limit_at
            if request.HasField("is_active"):
                stock.is_active = request.is_active
            stock.edited_fields = rules.edited_fields(stock.edited_fields, before, values)
            await session.flush()
            moved = before.starts_at if values.starts_at != before.starts_at else None
            await events.record(session, events.stock_updated(stock_pb(stock), venue.id, moved))
        return pb.UpdateStockResponse(stock=stock_pb(stock))

    async def DeleteStock(
        self, request: pb.DeleteStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteStockResponse:
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stock, offer, venue = await access.get_stock(
                session, principal, request.stock_id, for_update=True
            )
            rules.check_deletable(stock.starts_at, now)
            stock.deleted_at = now
            await events.record(session, events.stock_deleted(stock.id, offer.id, venue.id, now))
        return pb.DeleteStockResponse()
