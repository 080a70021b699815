"""A booking service killed between the reservation and the confirmation loses nothing.

The booking service runs as a real process: `python -m booking serve`, or, to crash,
crash_after_reserve.py, the same server patched from the test side to exit right after the
catalog reserved the seats. The booking is left
PENDING with its seats held; once restarted, the reconciler (or the client's retry with the same
Idempotency-Key) confirms it, reserving and charging once. The reverse case, a reservation that
never reached the catalog, is in test_booking_saga.py.
"""

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import select

from booking.catalog_client import CatalogClient
from booking.domain.status import BookingStatus
from booking.models import Booking
from booking.saga import BookingSaga
from passculture.booking.v1 import beneficiary_service_pb2 as beneficiaries_pb
from passculture.booking.v1 import booking_service_pb2 as pb
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import resources_pb2 as resources
from pclib.db import make_session_factory
from tests.support.booking_helpers import (
    BookingStubs,
    book,
    booked_quantity,
    insert_beneficiaries,
    make_showtime,
    no_ticketing,
    outbox_events,
)
from tests.support.pclib_fixtures import eventually
from tests.support.tcp_proxy import free_port

REPO = Path(__file__).resolve().parents[3]
SOURCES = ("gen", "libs", "services/catalog", "services/booking")
CRASH_AFTER_RESERVE = Path(__file__).with_name("crash_after_reserve.py")


async def serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=0.5
            )
        except grpc.aio.AioRpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
async def start_booking_process(booking_settings, tmp_path):
    """Starts `python -m booking serve` processes; stops those still running after the test."""
    processes: list[asyncio.subprocess.Process] = []

    @contextlib.asynccontextmanager
    async def start(
        *, crash_after_reserve: bool
    ) -> AsyncIterator[tuple[asyncio.subprocess.Process, BookingStubs]]:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(REPO / source) for source in SOURCES),
            "DATABASE_URL": booking_settings.database_url,
            "AMQP_URL": booking_settings.amqp_url,
            "GRPC_PORT": str(port),
            "METRICS_PORT": "0",
            "CATALOG_ADDR": booking_settings.catalog_addr,
            "JWT_PRIVATE_KEY_FILE": booking_settings.jwt_private_key_file,
            "JWT_PUBLIC_KEY_FILE": booking_settings.jwt_public_key_file,
            "TICKET_PRIVATE_KEY_FILE": booking_settings.ticket_private_key_file,
            "TICKET_PUBLIC_KEY_FILE": booking_settings.ticket_public_key_file,
            "GRPC_DRAIN_SECONDS": "1",
        }
        command = [str(CRASH_AFTER_RESERVE)] if crash_after_reserve else ["-m", "booking", "serve"]
        with (tmp_path / f"booking-{port}.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *command, env=env, stdout=log, stderr=log, cwd=REPO
            )
        processes.append(process)
        address = f"127.0.0.1:{port}"

        async def ready() -> bool:
            assert process.returncode is None, "the booking process exited"
            return await serving(address)

        await eventually(ready, within=30)
        async with grpc.aio.insecure_channel(address) as channel:
            yield process, BookingStubs.on(channel)

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture
async def young(booking_engine, issuer):
    [young] = await insert_beneficiaries(booking_engine, issuer, 1)
    return young


@pytest.fixture
async def showtime(catalog, issuer):
    return await make_showtime(catalog, issuer, quantity=10)


async def crash_while_booking(start_booking_process, young, showtime, key: str = "") -> None:
    async with start_booking_process(crash_after_reserve=True) as (process, booking):
        with pytest.raises(grpc.aio.AioRpcError):
            await book(booking, young, showtime.stock.id, key=key)
        assert await asyncio.wait_for(process.wait(), 10) == 1


async def the_booking(booking_engine) -> Booking:
    async with make_session_factory(booking_engine)() as session:
        [booking] = (await session.scalars(select(Booking))).all()
        return booking


async def assert_booked_once(booking, young, showtime, booking_engine, catalog_engine) -> None:
    [listed] = (
        await booking.bookings.ListMyBookings(pb.ListMyBookingsRequest(), metadata=young.metadata)
    ).bookings
    assert listed.status == resources.BOOKING_STATUS_CONFIRMED
    me = await booking.beneficiaries.GetMe(beneficiaries_pb.GetMeRequest(), metadata=young.metadata)
    assert me.beneficiary.credit.remaining_cents == 30_000 - 800
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1
    [created] = await outbox_events(booking_engine, events_pb2.BookingCreated)
    assert created.booking.booking_id == listed.id


async def test_a_crash_after_the_reservation_is_settled_by_the_reconciler(
    start_booking_process,
    young,
    showtime,
    booking_engine,
    booking_pool,
    catalog_engine,
    booking_settings,
    issuer,
):
    await crash_while_booking(start_booking_process, young, showtime)
    assert (await the_booking(booking_engine)).status == BookingStatus.PENDING
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1

    async with start_booking_process(crash_after_reserve=False) as (_, booking):
        async with grpc.aio.insecure_channel(booking_settings.catalog_addr) as channel:
            reconciler = BookingSaga(
                booking_pool, CatalogClient(channel, issuer, 5.0), no_ticketing(issuer)
            )
            assert await reconciler.reconcile_once(older_than=0) == 1
        await assert_booked_once(booking, young, showtime, booking_engine, catalog_engine)


async def test_a_crash_after_the_reservation_is_settled_by_the_clients_retry(
    start_booking_process, young, showtime, booking_engine, catalog_engine
):
    key = str(uuid.uuid4())
    await crash_while_booking(start_booking_process, young, showtime, key=key)
    pending = await the_booking(booking_engine)
    assert pending.status == BookingStatus.PENDING

    async with start_booking_process(crash_after_reserve=False) as (_, booking):
        retried = await book(booking, young, showtime.stock.id, key=key)
        assert (retried.id, retried.status) == (str(pending.id), resources.BOOKING_STATUS_CONFIRMED)
        await assert_booked_once(booking, young, showtime, booking_engine, catalog_engine)
