"""A ticketing system's answer arriving after its caller gave up is still recorded: the booking
is BOOKED with its tickets (and CancelTickets cancels them), never left BOOKING; tickets issued
after their booking was cancelled are cancelled in the system; the service's stop gives the calls
under way time to end."""

import asyncio
import logging
import uuid
from datetime import timedelta

import grpc
import pytest

from importer.api import ticketing as ticketing_api
from passculture.importer.v1 import ticketing_service_pb2 as pb
from tests.support.pclib_fixtures import eventually
from tests.support.ticketing_helpers import age_booking, refused, status_of
from tests.support.ticketing_helpers import book_request as book


@pytest.fixture
def importer_settings(importer_settings):
    # The fake's slow answers (1 s) arrive well within the system's timeout.
    return importer_settings.model_copy(update={"ticketing_timeout_seconds": 5.0})


async def test_an_answer_after_the_callers_deadline_is_booked_then_cancelled(
    stub, service, cds_venue, fake_cds, importer_engine
):
    fake_cds.fail_next("slow")  # the sale is done, its answer comes 1 s later
    booking_id = str(uuid.uuid4())
    request = book(cds_venue, booking_id)
    answer = await refused(stub.BookTickets(request, metadata=service, timeout=0.2))
    assert answer[0] == grpc.StatusCode.DEADLINE_EXCEEDED

    async def settled() -> str | None:
        status = await status_of(importer_engine, booking_id)
        return status if status != "BOOKING" else None

    assert await eventually(settled) == "BOOKED"
    await stub.CancelTickets(pb.CancelTicketsRequest(booking_id=booking_id), metadata=service)
    assert [t["canceled"] for t in fake_cds.transactions.values()] == [True]
    assert await status_of(importer_engine, booking_id) == "CANCELLED"


@pytest.mark.parametrize("cancel_fails", [False, True])
async def test_tickets_answered_after_their_booking_was_cancelled_are_cancelled(
    stub, service, cds_venue, fake_cds, importer_engine, caplog, cancel_fails
):
    fake_cds.fail_next("slow", *(["5xx"] if cancel_fails else []))  # the sale, its cancellation
    booking_id = str(uuid.uuid4())
    booking = asyncio.ensure_future(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    await eventually(lambda: fake_cds.transactions)  # sold, the answer on its way
    # Meanwhile the call is taken for abandoned (its process presumed dead) and cancelled.
    await age_booking(importer_engine, booking_id, timedelta(minutes=6))
    with caplog.at_level(logging.ERROR, logger=ticketing_api.__name__):
        await stub.CancelTickets(pb.CancelTicketsRequest(booking_id=booking_id), metadata=service)
        answer = await refused(booking)
    assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "TICKETS_CANCELLED")
    assert await status_of(importer_engine, booking_id) == "CANCELLED"
    [barcode] = fake_cds.transactions
    assert fake_cds.transactions[barcode]["canceled"] is not cancel_fails
    orphans = [r for r in caplog.records if "could not be cancelled" in r.getMessage()]
    if cancel_fails:  # someone must cancel them by hand: their barcodes are in the log
        [orphan] = orphans
        assert orphan.barcodes == [barcode]  # type: ignore[attr-defined]
    else:
        assert not orphans


@pytest.mark.parametrize("grace_seconds", [5.0, 0.0])
async def test_a_stop_lets_the_calls_under_way_end_within_its_grace(
    importer, stub, service, cds_venue, fake_cds, importer_engine, grace_seconds
):
    fake_cds.fail_next("slow")
    booking_id = str(uuid.uuid4())
    booking = asyncio.ensure_future(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    await eventually(lambda: fake_cds.transactions)  # sold, the answer on its way
    await importer.ticketing_calls.stop(grace_seconds)
    status = await status_of(importer_engine, booking_id)
    if grace_seconds:
        assert status == "BOOKED"
        assert len((await booking).tickets) == 1
    else:  # negative control: the call is cut, its row left BOOKING, the caller answered
        assert status == "BOOKING"
        answer = await refused(booking)
        assert answer == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")
