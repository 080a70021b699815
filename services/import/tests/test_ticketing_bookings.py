"""TicketingService through gRPC against the fake CDS and Boost: tickets booked once per
booking, sold out, failures (the booking UNCERTAIN, cancelled without its barcodes),
cancellation, and a booking cancelled before its tickets."""

import asyncio
import logging
import uuid
from datetime import timedelta

import grpc
import pytest
from prometheus_client import REGISTRY

from importer.api import ticketing as ticketing_api
from passculture.importer.v1 import resources_pb2
from passculture.importer.v1 import ticketing_service_pb2 as pb
from tests.support.catalog_helpers import make_pro, make_venue
from tests.support.import_helpers import put_link
from tests.support.ticketing_helpers import (
    EVENING,
    age_booking,
    refused,
    status_of,
)
from tests.support.ticketing_helpers import book_request as book

WITHOUT_BARCODE = "import_ticketing_tickets_without_barcode_total"


def without_barcode(system: str) -> float:
    return REGISTRY.get_sample_value(WITHOUT_BARCODE, {"system": system}) or 0.0


async def test_tickets_are_booked_once_per_booking(stub, service, cds_venue, fake_cds):
    booking_id = str(uuid.uuid4())
    first = await stub.BookTickets(book(cds_venue, booking_id, 2), metadata=service)
    again = await stub.BookTickets(book(cds_venue, booking_id, 2), metadata=service)
    assert len(first.tickets) == 2 and all(t.barcode and t.seat for t in first.tickets)
    assert again == first
    assert len(fake_cds.transactions) == 2  # one sale of two tickets
    assert fake_cds.show(1)["internetremainingplace"] == 1


async def test_sold_out_in_the_system(stub, service, cds_venue):
    answer = await refused(
        stub.BookTickets(book(cds_venue, str(uuid.uuid4()), 4), metadata=service)
    )
    assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "TICKETING_SOLD_OUT")


@pytest.mark.parametrize("fault", ["5xx", "timeout", "lost"])
async def test_a_failing_system_leaves_the_booking_uncertain(
    stub, service, cds_venue, fake_cds, importer_engine, fault
):
    fake_cds.fail_next(fault)
    booking_id = str(uuid.uuid4())
    answer = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert answer == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")
    assert await status_of(importer_engine, booking_id) == "UNCERTAIN"
    # The outcome is unknown: the same booking is not booked a second time.
    again = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert again == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")
    assert len(fake_cds.transactions) == (1 if fault == "lost" else 0)


async def test_an_uncertain_booking_is_cancelled_and_reported_for_a_check_with_the_cinema(
    stub, service, cds_venue, fake_cds, importer_engine, caplog
):
    fake_cds.fail_next("lost")  # the ticket is issued, its barcode never reaches us
    booking_id = str(uuid.uuid4())
    await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    before = without_barcode("CDS")
    with caplog.at_level(logging.ERROR, logger=ticketing_api.__name__):
        await stub.CancelTickets(pb.CancelTicketsRequest(booking_id=booking_id), metadata=service)
    assert await status_of(importer_engine, booking_id) == "CANCELLED"
    assert without_barcode("CDS") == before + 1
    [report] = caplog.records
    assert report.levelno == logging.ERROR
    assert "without their barcode: check with the cinema" in report.getMessage()
    assert (report.booking_id, report.venue_id, report.system) == (  # type: ignore[attr-defined]
        booking_id,
        cds_venue.id,
        "CDS",
    )
    assert "cds-token" not in caplog.text
    # Nothing could be cancelled in the system; the booking is cancelled for good.
    assert [t["canceled"] for t in fake_cds.transactions.values()] == [False]
    answer = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "TICKETS_CANCELLED")


async def test_a_booking_whose_call_was_abandoned_long_ago_is_cancelled_as_uncertain(
    stub, service, cds_venue, fake_cds, importer_engine
):
    # The row of a booking whose process died during the call stays BOOKING.
    fake_cds.fail_next("lost")
    booking_id = str(uuid.uuid4())
    await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    async with importer_engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE external_bookings SET status = 'BOOKING' WHERE booking_id = %(id)s",
            {"id": uuid.UUID(booking_id)},
        )
    cancel = pb.CancelTicketsRequest(booking_id=booking_id)
    # Negative control: a recent BOOKING row is a call under way: call again later.
    answer = await refused(stub.CancelTickets(cancel, metadata=service))
    assert answer == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")
    before = without_barcode("CDS")
    await age_booking(importer_engine, booking_id, timedelta(minutes=6))
    await stub.CancelTickets(cancel, metadata=service)
    assert await status_of(importer_engine, booking_id) == "CANCELLED"
    assert without_barcode("CDS") == before + 1


async def test_cancelling_cancels_in_the_system_and_for_good(stub, service, cds_venue, fake_cds):
    booking_id = str(uuid.uuid4())
    await stub.BookTickets(book(cds_venue, booking_id), metadata=service)
    cancel = pb.CancelTicketsRequest(booking_id=booking_id)
    await stub.CancelTickets(cancel, metadata=service)
    await stub.CancelTickets(cancel, metadata=service)
    assert [t["canceled"] for t in fake_cds.transactions.values()] == [True]
    assert fake_cds.show(1)["internetremainingplace"] == 3
    answer = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "TICKETS_CANCELLED")


async def test_a_booking_cancelled_before_its_tickets_never_gets_any(
    stub, service, cds_venue, fake_cds
):
    booking_id = str(uuid.uuid4())
    await stub.CancelTickets(pb.CancelTicketsRequest(booking_id=booking_id), metadata=service)
    answer = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert answer == (grpc.StatusCode.FAILED_PRECONDITION, "TICKETS_CANCELLED")
    assert not fake_cds.transactions


async def test_concurrent_attempts_of_one_booking_book_once(stub, service, cds_venue, fake_cds):
    booking_id = str(uuid.uuid4())
    results = await asyncio.gather(
        *(stub.BookTickets(book(cds_venue, booking_id), metadata=service) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, pb.BookTicketsResponse) for r in results) >= 1
    assert len(fake_cds.transactions) == 1


async def test_boost_tickets_and_only_services_may_call(
    catalog, issuer, importer, stub, service, fake_boost
):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    fake_boost.add_showtime(10, 7, "BLACK PANTHER", EVENING)
    await put_link(
        importer,
        pro.metadata,
        venue.id,
        system=resources_pb2.TICKETING_SYSTEM_BOOST,
        cinema_id="cine-2",
        account_id="vendor",
        secret="boost-password",
    )
    request = book(venue, str(uuid.uuid4()), 2, "10:108")
    denied = await refused(stub.BookTickets(request, metadata=pro.metadata))
    assert denied[0] == grpc.StatusCode.PERMISSION_DENIED
    reply = await stub.BookTickets(request, metadata=service)
    assert [t.seat for t in reply.tickets] == ["B_1", "B_2"]
    assert len({t.barcode for t in reply.tickets}) == 1
