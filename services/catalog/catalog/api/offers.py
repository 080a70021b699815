"""OfferService: a pro's offers (films) and their stocks (showtimes)."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access
from catalog.api.convert import (
    features_from_pb,
    filter_id,
    offer_pb,
    optional_datetime,
    stock_pb,
    timestamp,
    to_datetime,
)
from catalog.domain import stocks as rules
from catalog.models import Offer, Stock, Venue
from passculture.catalog.v1 import events_pb2
from passculture.catalog.v1 import offer_service_pb2 as pb
from passculture.catalog.v1 import offer_service_pb2_grpc as pb_grpc
from pclib import pagination
from pclib.errors import InvalidArgument
from pclib.idempotency import idempotent
from pclib.outbox import add_event

OFFER_TEXT_FIELDS = ("title", "description", "poster_url")
OFFER_FIELDS = (*OFFER_TEXT_FIELDS, "duration_minutes", "is_duo", "is_active")


def _check_offer(offer: Offer) -> None:
    if not offer.title.strip():
        raise InvalidArgument("INVALID_TITLE", "title is required")
    if offer.duration_minutes is not None and not 0 < offer.duration_minutes <= 1440:
        raise InvalidArgument("INVALID_DURATION", "duration_minutes must be 1 to 1440")


def _values(stock: Stock) -> rules.StockValues:
    return rules.StockValues(
        stock.starts_at, stock.price_cents, stock.quantity, stock.booking_limit_at
    )


async def _publish_stock_updated(
    session: AsyncSession, stock: Stock, venue: Venue, previous_starts_at: datetime | None = None
) -> None:
    event = events_pb2.StockUpdated(stock=stock_pb(stock), venue_id=str(venue.id))
    if previous_starts_at is not None:
        event.previous_starts_at.CopyFrom(timestamp(previous_starts_at))
    await add_event(session, "stock.updated", event)


class OfferServicer(pb_grpc.OfferServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def CreateOffer(self, request, context):
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

    async def _create_offer(self, session: AsyncSession, principal, request):
        venue = await access.get_venue(session, principal, request.venue_id)
        offer = Offer(
            venue_id=venue.id,
            title=request.title,
            description=request.description,
            poster_url=request.poster_url,
            duration_minutes=request.duration_minutes
            if request.HasField("duration_minutes")
            else None,
            is_duo=request.is_duo,
            is_active=True,
            source="MANUAL",
        )
        _check_offer(offer)
        session.add(offer)
        await session.flush()
        return pb.CreateOfferResponse(offer=offer_pb(offer))

    async def ListOffers(self, request, context):
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

    async def GetOffer(self, request, context):
        principal = access.require_pro()
        async with self._sessions() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
        return pb.GetOfferResponse(offer=offer_pb(offer))

    async def UpdateOffer(self, request, context):
        principal = access.require_pro()
        async with self._sessions.begin() as session:
            offer, _ = await access.get_offer(session, principal, request.offer_id)
            for field in OFFER_FIELDS:
                if request.HasField(field):
                    setattr(offer, field, getattr(request, field))
            _check_offer(offer)
        return pb.UpdateOfferResponse(offer=offer_pb(offer))

    async def CreateStock(self, request, context):
        principal = access.require_pro()
        if not request.HasField("starts_at"):
            raise InvalidArgument("INVALID_STARTS_AT", "starts_at is required")
        return await idempotent(
            self._sessions,
            context,
            caller=principal.subject,
            method="CreateStock",
            request=request,
            response_type=pb.CreateStockResponse,
            create=lambda session: self._create_stock(session, principal, request),
        )

    async def _create_stock(self, session: AsyncSession, principal, request):
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
        await _publish_stock_updated(session, stock, venue)
        return pb.CreateStockResponse(stock=stock_pb(stock))

    async def ListStocks(self, request, context):
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

    async def UpdateStock(self, request, context):
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stock, _, venue = await access.get_stock(
                session, principal, request.stock_id, for_update=True
            )
            previous_starts_at = stock.starts_at
            quantity = rules.UNSET
            if request.clear_quantity:
                quantity = None
            elif request.HasField("quantity"):
                quantity = request.quantity
            values = rules.updated_stock(
                _values(stock),
                stock.booked_quantity,
                now,
                starts_at=optional_datetime(request, "starts_at"),
                price_cents=request.price_cents if request.HasField("price_cents") else None,
                quantity=quantity,
                booking_limit_at=optional_datetime(request, "booking_limit_at"),
            )
            edited = {
                field
                for field, changed in (
                    ("price_cents", values.price_cents != stock.price_cents),
                    ("quantity", values.quantity != stock.quantity),
                    ("booking_limit_at", values.booking_limit_at != stock.booking_limit_at),
                    ("starts_at", values.starts_at != stock.starts_at),
                )
                if changed
            }
            stock.starts_at = values.starts_at
            stock.price_cents = values.price_cents
            stock.quantity = values.quantity
            stock.booking_limit_at = values.booking_limit_at
            if request.HasField("is_active"):
                stock.is_active = request.is_active
            stock.edited_fields = sorted(set(stock.edited_fields) | edited)
            await session.flush()
            moved = previous_starts_at if values.starts_at != previous_starts_at else None
            await _publish_stock_updated(session, stock, venue, moved)
        return pb.UpdateStockResponse(stock=stock_pb(stock))

    async def DeleteStock(self, request, context):
        principal = access.require_pro()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stock, offer, venue = await access.get_stock(
                session, principal, request.stock_id, for_update=True
            )
            rules.check_deletable(stock.starts_at, now)
            stock.deleted_at = now
            await add_event(
                session,
                "stock.deleted",
                events_pb2.StockDeleted(
                    stock_id=str(stock.id),
                    offer_id=str(offer.id),
                    venue_id=str(venue.id),
                    deleted_at=timestamp(now),
                ),
            )
        return pb.DeleteStockResponse()
