"""ReserveStock / ReleaseStock / GetReservation: the catalog's side of the booking saga."""

import asyncio
import uuid

import grpc
import pytest
from sqlalchemy import text

from catalog.reservations import RESERVE
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import reservation_service_pb2 as pb
from tests.support.catalog_helpers import (
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
)
from tests.support.pclib_fixtures import eventually


@pytest.fixture
def service(issuer):
    return auth(issuer, "booking", "service")


@pytest.fixture
async def showtime(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id, is_duo=True)
    stock = await make_stock(catalog, pro, offer.id, quantity=3)
    return pro, offer, stock


async def reserve(catalog, service, stock_id, quantity=1, reservation_id=None):
    request = pb.ReserveStockRequest(
        stock_id=stock_id, quantity=quantity, reservation_id=reservation_id or str(uuid.uuid4())
    )
    return (await catalog.reservations.ReserveStock(request, metadata=service)).reservation


async def release(catalog, service, reservation_id):
    request = pb.ReleaseStockRequest(reservation_id=reservation_id)
    return (await catalog.reservations.ReleaseStock(request, metadata=service)).reservation


async def booked(catalog, pro, offer_id) -> int:
    listed = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=offer_id), metadata=pro.metadata
    )
    return listed.stocks[0].booked_quantity


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), reason_of(failure.value)


async def test_reserving_is_idempotent_on_the_reservation_id(catalog, service, showtime):
    pro, offer, stock = showtime
    reservation_id = str(uuid.uuid4())
    first = await reserve(catalog, service, stock.id, 2, reservation_id)
    again = await reserve(catalog, service, stock.id, 2, reservation_id)
    assert first == again
    assert first.status == pb.RESERVATION_STATUS_RESERVED
    assert await booked(catalog, pro, offer.id) == 2
    got = await catalog.reservations.GetReservation(
        pb.GetReservationRequest(reservation_id=reservation_id), metadata=service
    )
    assert got.reservation == first


async def test_a_retry_is_answered_like_the_first_call(catalog, service, showtime):
    """The first call reserves (one statement); a retry finds the reservation (a second
    look): both answer the same reservation, as GetReservation does."""
    _, _, stock = showtime
    reservation_id = str(uuid.uuid4())
    answers = [await reserve(catalog, service, stock.id, 2, reservation_id) for _ in range(3)]
    got = await catalog.reservations.GetReservation(
        pb.GetReservationRequest(reservation_id=reservation_id), metadata=service
    )
    assert answers == [got.reservation] * 3
    assert (got.reservation.stock_id, got.reservation.quantity) == (stock.id, 2)


async def waiting_on_a_lock(engine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return waiting > 0


async def test_a_concurrent_call_with_the_same_id_answers_as_a_retry(
    catalog, service, showtime, catalog_engine
):
    """Both calls update the stock; the one that inserts second fails on the reservation id
    and rolls back whole (its UPDATE too), then answers with the first one's reservation."""
    pro, offer, stock = showtime
    reservation_id = uuid.uuid4()
    params = {"stock_id": stock.id, "quantity": 1, "reservation_id": reservation_id}
    async with catalog_engine.connect() as first:
        await first.begin()
        await first.exec_driver_sql(RESERVE, params)
        second = asyncio.ensure_future(reserve(catalog, service, stock.id, 1, str(reservation_id)))
        await eventually(lambda: waiting_on_a_lock(catalog_engine))
        await first.commit()
    answer = await second
    assert (answer.reservation_id, answer.status) == (
        str(reservation_id),
        pb.RESERVATION_STATUS_RESERVED,
    )
    assert await booked(catalog, pro, offer.id) == 1


async def test_a_release_racing_a_reservation_wins_for_good(
    catalog, service, showtime, catalog_engine
):
    pro, offer, stock = showtime
    reservation_id = uuid.uuid4()
    async with catalog_engine.connect() as releasing:
        await releasing.begin()
        await releasing.execute(
            text(
                "INSERT INTO stock_reservations (id, stock_id, quantity, status)"
                " VALUES (:id, NULL, 0, 'RELEASED')"
            ),
            {"id": reservation_id},
        )
        late = asyncio.ensure_future(reserve(catalog, service, stock.id, 1, str(reservation_id)))
        await eventually(lambda: waiting_on_a_lock(catalog_engine))
        await releasing.commit()
    assert await refused(late) == (grpc.StatusCode.FAILED_PRECONDITION, "RESERVATION_RELEASED")
    assert await booked(catalog, pro, offer.id) == 0


async def test_a_released_id_never_reserves_again(catalog, service, showtime):
    pro, offer, stock = showtime
    reservation = await reserve(catalog, service, stock.id)
    released = await release(catalog, service, reservation.reservation_id)
    assert released.status == pb.RESERVATION_STATUS_RELEASED
    assert await release(catalog, service, reservation.reservation_id) == released
    assert await booked(catalog, pro, offer.id) == 0
    again = reserve(catalog, service, stock.id, reservation_id=reservation.reservation_id)
    assert await refused(again) == (grpc.StatusCode.FAILED_PRECONDITION, "RESERVATION_RELEASED")


async def test_releasing_an_unknown_id_leaves_a_tombstone(catalog, service, showtime):
    _, _, stock = showtime
    reservation_id = str(uuid.uuid4())
    tombstone = await release(catalog, service, reservation_id)
    assert (tombstone.status, tombstone.stock_id) == (pb.RESERVATION_STATUS_RELEASED, "")
    late = reserve(catalog, service, stock.id, reservation_id=reservation_id)
    assert await refused(late) == (grpc.StatusCode.FAILED_PRECONDITION, "RESERVATION_RELEASED")


async def test_refusals(catalog, issuer, service, showtime):
    pro, _, stock = showtime
    await reserve(catalog, service, stock.id, 2)
    assert await refused(reserve(catalog, service, stock.id, 2)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SOLD_OUT",
    )
    assert await refused(reserve(catalog, service, stock.id, 3)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_QUANTITY",
    )
    assert await refused(reserve(catalog, service, str(uuid.uuid4()))) == (
        grpc.StatusCode.NOT_FOUND,
        "STOCK_NOT_FOUND",
    )
    reservation_id = str(uuid.uuid4())
    await reserve(catalog, service, stock.id, 1, reservation_id)
    assert await refused(reserve(catalog, service, stock.id, 2, reservation_id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "RESERVATION_MISMATCH",
    )
    assert await refused(
        catalog.reservations.GetReservation(
            pb.GetReservationRequest(reservation_id=str(uuid.uuid4())), metadata=service
        )
    ) == (grpc.StatusCode.NOT_FOUND, "RESERVATION_NOT_FOUND")

    solo = await make_offer(catalog, pro, (await make_venue(catalog, pro, siret="")).id)
    solo_stock = await make_stock(catalog, pro, solo.id)
    assert await refused(reserve(catalog, service, solo_stock.id, 2)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_QUANTITY",
    )
    await catalog.offers.UpdateOffer(
        offers_pb.UpdateOfferRequest(offer_id=solo.id, is_active=False), metadata=pro.metadata
    )
    assert await refused(reserve(catalog, service, solo_stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_BOOKABLE",
    )


async def test_a_non_validated_offerer_sells_nothing(catalog, issuer, service):
    pro = await make_pro(catalog, issuer, validated=False)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id)
    stock = await make_stock(catalog, pro, offer.id)
    assert await refused(reserve(catalog, service, stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_BOOKABLE",
    )


async def test_only_services_reserve(catalog, showtime):
    pro, _, stock = showtime
    assert (await refused(reserve(catalog, pro.metadata, stock.id)))[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert (await refused(reserve(catalog, (), stock.id)))[0] == grpc.StatusCode.UNAUTHENTICATED


async def test_a_reservation_answers_the_showtime_as_it_is_when_taken(catalog, issuer):
    """The booking saga makes a booking at these: the price, start and features of the
    moment the seats were taken, and the film's title; a retry answers them too."""
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    offer = await make_offer(catalog, pro, venue.id, title="Les Enfants du paradis")
    stock = await make_stock(catalog, pro, offer.id, price_cents=650)
    service = auth(issuer, "booking", "service")
    reservation_id = str(uuid.uuid4())
    request = pb.ReserveStockRequest(stock_id=stock.id, quantity=1, reservation_id=reservation_id)
    for _ in range(2):
        answer = await catalog.reservations.ReserveStock(request, metadata=service)
        assert answer.reservation.reservation_id == reservation_id
        assert (answer.stock.id, answer.stock.price_cents) == (stock.id, 650)
        assert answer.stock.starts_at == stock.starts_at
        assert list(answer.stock.features) == list(stock.features)
        assert answer.offer_title == "Les Enfants du paradis"
