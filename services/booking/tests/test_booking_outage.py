"""The booking service when its database restarts: every call answers OK or UNAVAILABLE
(SERVICE_UNAVAILABLE, which the gateway answers 503 with Retry-After), nothing is lost, and
calls succeed again once it is back; the first call after a quiet restart succeeds.

The service reaches PostgreSQL through a TCP proxy: stopping it drops every connection and
refuses new ones, as a restart does for clients.
"""

import asyncio

import grpc
import pytest
from sqlalchemy import text

from passculture.booking.v1 import beneficiary_service_pb2 as beneficiaries_pb
from pclib import db, interceptors
from pclib.db import make_engine
from tests.support.booking_helpers import book, insert_beneficiaries, make_showtime, running_booking
from tests.support.catalog_helpers import reason_of
from tests.support.pclib_fixtures import database_proxy, eventually

ANSWERED = {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
# How long the service stays quiet after the restart (its pooled connections idle that long).
QUIET = 1.3


@pytest.fixture
async def through_proxy(booking_db_url, booking_settings, verifier):
    """The booking server with its database behind a proxy: (proxy, stubs)."""
    proxy = database_proxy(booking_db_url)
    await proxy.start()
    engine = make_engine(proxy.url, pool_size=5, max_overflow=0)
    settings = booking_settings.model_copy(update={"database_url": proxy.url})
    try:
        async with running_booking(engine, verifier, settings) as (_, stubs):
            yield proxy, stubs
    finally:
        await proxy.stop()
        await engine.dispose()


async def outcome(call) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), reason_of(error)
    return grpc.StatusCode.OK, ""


async def load(stubs, youngs, stock_ids, stop: asyncio.Event, answers: list) -> None:
    """Each young person books the showtimes in turn and asks for their credit, until stop."""

    async def one(young) -> None:
        for stock_id in stock_ids:
            if stop.is_set():
                return
            key = f"{young.id}-{stock_id}"
            answers.append((young, key, await outcome(book(stubs, young, stock_id, key=key))))
            me = stubs.beneficiaries.GetMe(beneficiaries_pb.GetMeRequest(), metadata=young.metadata)
            answers.append((young, None, await outcome(me)))

    await asyncio.gather(*(one(young) for young in youngs))


async def test_a_restart_under_load_answers_ok_or_unavailable_and_loses_nothing(
    through_proxy, booking_engine, catalog, issuer
):
    proxy, stubs = through_proxy
    showtimes = [await make_showtime(catalog, issuer, quantity=100) for _ in range(30)]
    youngs = await insert_beneficiaries(booking_engine, issuer, 8)
    answers: list = []
    stop = asyncio.Event()
    running = asyncio.create_task(
        load(stubs, youngs, [s.stock.id for s in showtimes], stop, answers)
    )
    await eventually(lambda: len(answers) > 20)
    await proxy.stop()  # the database "restarts"
    down_at = len(answers)
    await asyncio.sleep(1.0)
    await proxy.start()
    await asyncio.sleep(1.5)
    stop.set()
    await running

    codes = {code for _, _, (code, _) in answers}
    assert codes <= ANSWERED, codes
    refusals = {reason for _, _, (code, reason) in answers if code != grpc.StatusCode.OK}
    assert refusals <= {"SERVICE_UNAVAILABLE", "CATALOG_UNAVAILABLE", ""}, refusals
    assert any(code == grpc.StatusCode.UNAVAILABLE for _, _, (code, _) in answers[down_at:])
    assert answers[-1][2][0] == grpc.StatusCode.OK  # back to normal once it is back

    # Every booking answered OK is there, confirmed; the credits hold exactly their bookings.
    booked = [key for _, key, (code, _) in answers if key and code == grpc.StatusCode.OK]
    async with booking_engine.connect() as conn:
        confirmed = set(
            await conn.scalars(
                text("SELECT idempotency_key FROM bookings WHERE status = 'CONFIRMED'")
            )
        )
        drift = await conn.scalar(
            text(
                "SELECT count(*) FROM credits c WHERE c.spent_cents <> (SELECT coalesce(sum("
                "amount_cents * quantity), 0) FROM bookings b WHERE b.credit_id = c.id AND"
                " b.status IN ('PENDING', 'CONFIRMED', 'USED', 'REIMBURSED'))"
            )
        )
    assert set(booked) <= confirmed
    assert drift == 0


async def test_negative_control_without_the_outage_mapping_calls_fail_as_internal(
    through_proxy, booking_engine, issuer, monkeypatch
):
    proxy, stubs = through_proxy
    monkeypatch.setattr(interceptors, "OUTAGES", ())
    [young] = await insert_beneficiaries(booking_engine, issuer, 1)
    await proxy.stop()
    code, _ = await outcome(
        stubs.beneficiaries.GetMe(beneficiaries_pb.GetMeRequest(), metadata=young.metadata)
    )
    assert code == grpc.StatusCode.INTERNAL


@pytest.mark.parametrize("checked", [True, False])
async def test_the_first_call_after_a_quiet_restart_succeeds(
    through_proxy, booking_engine, issuer, monkeypatch, checked
):
    """With idle connections checked before use, yes; without (the negative control), the
    call meets a dead connection."""
    proxy, stubs = through_proxy
    assert db.IDLE_CHECK_AFTER_SECONDS < QUIET
    if not checked:
        monkeypatch.setattr(db, "IDLE_CHECK_AFTER_SECONDS", 3600.0)
    [young] = await insert_beneficiaries(booking_engine, issuer, 1)

    async def me():
        return await outcome(
            stubs.beneficiaries.GetMe(beneficiaries_pb.GetMeRequest(), metadata=young.metadata)
        )

    assert (await me())[0] == grpc.StatusCode.OK  # a pooled connection, now idle
    await proxy.stop()
    await proxy.start()
    await asyncio.sleep(QUIET)
    answer = await me()
    if checked:
        assert answer == (grpc.StatusCode.OK, "")
    else:
        assert answer == (grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE")
