"""No oversell whatever the concurrency: 1 000 simultaneous ReserveStock on 100 places.

The negative control runs the same storm and the same check against a naive read-then-write
reservation, to prove that the check does catch an oversell.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import grpc
import pytest
from sqlalchemy import text

from passculture.catalog.v1 import reservation_service_pb2 as pb
from tests.support.catalog_helpers import (
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
)

PLACES = 100
CALLERS = 1_000

Reserve = Callable[[uuid.UUID], Awaitable[bool]]


async def storm(reserve: Reserve, callers: int) -> int:
    """Fires every call at once; returns how many reserved a place."""
    start = asyncio.Event()

    async def one() -> bool:
        await start.wait()
        return await reserve(uuid.uuid4())

    tasks = [asyncio.create_task(one()) for _ in range(callers)]
    await asyncio.sleep(0)
    start.set()
    return sum(await asyncio.gather(*tasks))


async def seats_state(engine, stock_id: str) -> tuple[int, int, int]:
    """(places booked on the stock, reservation rows, places held by reservation rows)."""
    async with engine.connect() as conn:
        booked = await conn.scalar(
            text("SELECT booked_quantity FROM stocks WHERE id = :id"), {"id": stock_id}
        )
        rows, held = (
            await conn.execute(
                text(
                    "SELECT count(*), coalesce(sum(quantity), 0) FROM stock_reservations"
                    " WHERE stock_id = :id AND status = 'RESERVED'"
                ),
                {"id": stock_id},
            )
        ).one()
    return booked, rows, held


async def assert_sold_exactly(engine, stock_id: str, successes: int, places: int) -> None:
    booked, rows, held = await seats_state(engine, stock_id)
    assert successes == places, f"{successes} reservations succeeded for {places} places"
    assert booked == rows == held == places, (booked, rows, held)


@pytest.fixture
async def hot_stock(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id)
    return await make_stock(catalog, pro, offer.id, quantity=PLACES)


async def test_a_thousand_concurrent_reservations_sell_exactly_the_places(
    catalog, issuer, hot_stock, catalog_engine
):
    service = auth(issuer, "booking", "service")
    refusals: list[str] = []

    async def reserve_through_grpc(reservation_id: uuid.UUID) -> bool:
        request = pb.ReserveStockRequest(
            stock_id=hot_stock.id, quantity=1, reservation_id=str(reservation_id)
        )
        try:
            await catalog.reservations.ReserveStock(request, metadata=service)
            return True
        except grpc.aio.AioRpcError as error:
            refusals.append(reason_of(error))
            return False

    successes = await storm(reserve_through_grpc, CALLERS)
    await assert_sold_exactly(catalog_engine, hot_stock.id, successes, PLACES)
    assert set(refusals) == {"SOLD_OUT"}


async def test_concurrent_retries_of_one_reservation_hold_one_place(
    catalog, issuer, hot_stock, catalog_engine
):
    service = auth(issuer, "booking", "service")
    request = pb.ReserveStockRequest(
        stock_id=hot_stock.id, quantity=1, reservation_id=str(uuid.uuid4())
    )
    answers = await asyncio.gather(
        *(catalog.reservations.ReserveStock(request, metadata=service) for _ in range(50))
    )
    assert len({answer.reservation.reservation_id for answer in answers}) == 1
    assert await seats_state(catalog_engine, hot_stock.id) == (1, 1, 1)


async def test_negative_control_the_check_catches_a_naive_oversell(hot_stock, catalog_engine):
    """Read, then write: the race every reservation must avoid. The same check must fail."""

    async def naive_reserve(reservation_id: uuid.UUID) -> bool:
        async with catalog_engine.begin() as conn:
            booked, quantity = (
                await conn.execute(
                    text("SELECT booked_quantity, quantity FROM stocks WHERE id = :id"),
                    {"id": hot_stock.id},
                )
            ).one()
            if booked >= quantity:
                return False
            await asyncio.sleep(0.001)  # any I/O between the read and the write opens the race
            await conn.execute(
                text("UPDATE stocks SET booked_quantity = :booked WHERE id = :id"),
                {"booked": booked + 1, "id": hot_stock.id},
            )
            await conn.execute(
                text(
                    "INSERT INTO stock_reservations (id, stock_id, quantity, status)"
                    " VALUES (:id, :stock_id, 1, 'RESERVED')"
                ),
                {"id": reservation_id, "stock_id": hot_stock.id},
            )
            return True

    successes = await storm(naive_reserve, CALLERS)
    with pytest.raises(AssertionError):
        await assert_sold_exactly(catalog_engine, hot_stock.id, successes, PLACES)
    assert successes > PLACES
