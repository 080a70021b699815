"""TicketingService through gRPC against the fake CDS and Boost: tickets booked once per
booking, sold out, failures, cancellation, and a booking cancelled before its tickets."""

import asyncio
import uuid
from datetime import date, datetime, timedelta, timezone

import grpc
import pytest

from passculture.importer.v1 import resources_pb2
from passculture.importer.v1 import ticketing_service_pb2 as pb
from passculture.importer.v1 import ticketing_service_pb2_grpc as pb_grpc
from tests.support.catalog_helpers import auth, make_pro, make_venue, reason_of
from tests.support.import_helpers import put_link

PARIS = timezone(timedelta(hours=1))
EVENING = datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), PARIS).replace(
    hour=20
)


@pytest.fixture
async def stub(importer):
    async with grpc.aio.insecure_channel(importer.address) as channel:
        yield pb_grpc.TicketingServiceStub(channel)


@pytest.fixture
def service(issuer):
    return auth(issuer, "booking", "service")


@pytest.fixture
async def cds_venue(catalog, issuer, importer, fake_cds):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    fake_cds.add_show(1, 52, "Le Voyage", EVENING, seats=3)
    await put_link(importer, pro.metadata, venue.id)
    return venue


def book(venue, booking_id: str, quantity: int = 1, ref: str = "1:1:4") -> pb.BookTicketsRequest:
    return pb.BookTicketsRequest(
        booking_id=booking_id,
        venue_id=venue.id,
        provider_stock_reference=ref,
        quantity=quantity,
        first_name="Camille",
        last_name="Martin",
        email="camille@example.com",
    )


async def refused(call) -> tuple:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), reason_of(failure.value)


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
async def test_a_failing_system_is_unavailable(stub, service, cds_venue, fake_cds, fault):
    fake_cds.fail_next(fault)
    booking_id = str(uuid.uuid4())
    answer = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert answer == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")
    # The outcome is unknown: the same booking is not booked a second time.
    again = await refused(stub.BookTickets(book(cds_venue, booking_id), metadata=service))
    assert again == (grpc.StatusCode.UNAVAILABLE, "TICKETING_UNAVAILABLE")


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
