"""OfferService: a pro's offers (films) and their stocks (showtimes)."""

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, events, price_categories, stocks
from catalog.domain import stocks as rules
from catalog.domain.offers import check_offer
from catalog.domain.status import OfferSource
from catalog.ids import filter_id, parse_id
from catalog.models import Offer, PriceCategory, Stock, Venue
from catalog.resources import features_from_pb, offer_pb, price_category_pb, stock_pb
from passculture.catalog.v1 import offer_service_pb2 as pb
from passculture.catalog.v1 import offer_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from pclib import pagination
from pclib.auth import Principal
from pclib.errors import InvalidArgument
from pclib.idempotency import idempotent
from pclib.timestamps import optional_datetime, to_datetime

OFFER_FIELDS = ("title", "description", "poster_url", "duration_minutes", "is_duo", "is_active")


def _category_id(value: str) -> uuid.UUID | None:
    return parse_id(value, Reason.PRICE_CATEGORY_NOT_FOUND) if value else None


def _quantity(request: pb.UpdateStockRequest) -> int | rules.Unset | None:
    if request.clear_quantity:
        return None
    return request.quantity if request.HasField("quantity") else rules.UNSET


def _features(request: pb.UpdateStockRequest) -> list[str] | None:
    return features_from_pb(request.features.values) if request.HasField("features") else None


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
        price = request.price_cents if request.HasField("price_cents") else None
        category_id = _category_id(request.price_category_id)
        offer, venue = await access.get_offer(session, principal, request.offer_id)
        category = await price_categories.of_stock(session, offer.id, category_id, price)
        values = rules.new_stock(
            starts_at=to_datetime(request.starts_at),
            price_cents=category.price_cents,
            quantity=request.quantity if request.HasField("quantity") else None,
            booking_limit_at=optional_datetime(request, "booking_limit_at"),
            now=datetime.now(UTC),
        )
        stock, event = await stocks.create(
            session, offer.id, venue.id, values, features_from_pb(request.features), category
        )
        await events.record(session, event)
        return pb.CreateStockResponse(stock=stock_pb(stock, category.label))

    async def ListStocks(
        self, request: pb.ListStocksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStocksResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
            found = (
                await session.execute(
                    select(Stock, PriceCategory.label)
                    .join(PriceCategory, PriceCategory.id == Stock.price_category_id)
                    .where(Stock.offer_id == offer.id, Stock.deleted_at.is_(None))
                    .order_by(Stock.starts_at, Stock.id)
                    .offset(offset)
                    .limit(size + 1)
                )
            ).all()
        return pb.ListStocksResponse(
            stocks=[stock_pb(stock, label) for stock, label in found[:size]],
            next_page_token=pagination.next_token(offset, size, len(found)),
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
            category = await self._new_category(session, stock, request)
            event = stocks.edit(
                stock,
                venue.id,
                now,
                category,
                starts_at=optional_datetime(request, "starts_at"),
                quantity=_quantity(request),
                booking_limit_at=optional_datetime(request, "booking_limit_at"),
                is_active=request.is_active if request.HasField("is_active") else None,
                features=_features(request),
            )
            await session.flush()
            await events.record(session, event)
        return pb.UpdateStockResponse(stock=stock_pb(stock, category.label))

    async def _new_category(
        self, session: AsyncSession, stock: Stock, request: pb.UpdateStockRequest
    ) -> PriceCategory:
        """The stock's category after the edit: the one named, the one of the new price, or
        its own."""
        price = request.price_cents if request.HasField("price_cents") else None
        category_id = _category_id(request.price_category_id)
        if category_id is None and price is None:
            category_id = stock.price_category_id
        return await price_categories.of_stock(
            session, stock.offer_id, category_id, price, own=stock.price_category_id
        )

    async def DeleteStock(
        self, request: pb.DeleteStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteStockResponse:
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stock, _, venue = await access.get_stock(
                session, principal, request.stock_id, for_update=True
            )
            await events.record(session, stocks.delete(stock, venue.id, now))
        return pb.DeleteStockResponse()

    async def CreatePriceCategory(
        self, request: pb.CreatePriceCategoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePriceCategoryResponse:
        principal = access.require_pro()
        return await idempotent(
            self._sessions,
            context,
            caller=principal.subject,
            method="CreatePriceCategory",
            request=request,
            response_type=pb.CreatePriceCategoryResponse,
            create=lambda session: self._create_price_category(session, principal, request),
        )

    async def _create_price_category(
        self, session: AsyncSession, principal: Principal, request: pb.CreatePriceCategoryRequest
    ) -> pb.CreatePriceCategoryResponse:
        offer, _ = await access.get_offer(session, principal, request.offer_id)
        category = await price_categories.create(
            session, offer.id, request.label, request.price_cents
        )
        return pb.CreatePriceCategoryResponse(price_category=price_category_pb(category))

    async def ListPriceCategories(
        self, request: pb.ListPriceCategoriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPriceCategoriesResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
            found = list(
                await session.scalars(
                    price_categories.live(offer.id).offset(offset).limit(size + 1)
                )
            )
        return pb.ListPriceCategoriesResponse(
            price_categories=[price_category_pb(c) for c in found[:size]],
            next_page_token=pagination.next_token(offset, size, len(found)),
        )

    async def UpdatePriceCategory(
        self, request: pb.UpdatePriceCategoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdatePriceCategoryResponse:
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            category, _, venue = await access.get_price_category(
                session, principal, request.price_category_id
            )
            changed = await price_categories.edit(
                session,
                category,
                venue.id,
                now,
                label=request.label if request.HasField("label") else None,
                price_cents=request.price_cents if request.HasField("price_cents") else None,
            )
            for event in changed:
                await events.record(session, event)
        return pb.UpdatePriceCategoryResponse(price_category=price_category_pb(category))

    async def DeletePriceCategory(
        self, request: pb.DeletePriceCategoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeletePriceCategoryResponse:
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            category, _, venue = await access.get_price_category(
                session, principal, request.price_category_id
            )
            for event in await price_categories.delete(session, category, venue.id, now):
                await events.record(session, event)
        return pb.DeletePriceCategoryResponse()
