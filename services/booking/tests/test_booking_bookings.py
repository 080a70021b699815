"""Booking, listing and cancelling through the booking service's gRPC API, against a real
catalog: every error code, duo, one booking per offer, credit, idempotency and the events."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from passculture.booking.v1 import beneficiary_service_pb2 as beneficiaries_pb
from passculture.booking.v1 import booking_service_pb2 as pb
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import resources_pb2 as resources
from passculture.catalog.v1 import offer_service_pb2
from tests.support.booking_helpers import (
    book,
    booked_quantity,
    make_beneficiary,
    make_showtime,
    outbox_events,
)
from tests.support.catalog_helpers import make_pro, make_venue, reason_of

CREDIT = 30_000


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), reason_of(failure.value)


async def remaining_credit(booking, young) -> int:
    me = await booking.beneficiaries.GetMe(beneficiaries_pb.GetMeRequest(), metadata=young.metadata)
    return me.beneficiary.credit.remaining_cents


async def cancel(booking, young, booking_id: str) -> resources.Booking:
    reply = await booking.bookings.CancelMyBooking(
        pb.CancelMyBookingRequest(booking_id=booking_id), metadata=young.metadata
    )
    return reply.booking


@pytest.fixture
async def young(booking, issuer):
    return await make_beneficiary(booking, issuer)


@pytest.fixture
async def showtime(catalog, issuer):
    return await make_showtime(catalog, issuer, quantity=10, features=[1])


# --- booking ---------------------------------------------------------------------------------


async def test_a_booking_is_confirmed_with_its_ticket(
    booking, young, showtime, catalog_engine, booking_engine
):
    before = datetime.now(UTC)
    made = await book(booking, young, showtime.stock.id)

    assert made.status == resources.BOOKING_STATUS_CONFIRMED
    assert len(made.countermark) == 6
    assert made.qr_payload == f"PASSCULTURE:v3;TOKEN:{made.countermark}"
    assert (made.quantity, made.amount_cents, made.total_cents) == (1, 800, 800)
    assert (made.offer_id, made.stock_id, made.venue_id) == (
        showtime.offer.id,
        showtime.stock.id,
        showtime.venue.id,
    )
    assert made.offerer_id == showtime.pro.offerer_id
    assert (made.offer_title, made.venue_name) == ("La Dernière Séance", "Le Grand Rex")
    assert made.venue_timezone == "Europe/Paris"
    assert list(made.features) == ["VF"]
    assert made.beneficiary_id == young.id
    starts_at = showtime.stock.starts_at.ToDatetime(tzinfo=UTC)
    assert made.starts_at.ToDatetime(tzinfo=UTC) == starts_at
    booked_at = made.booked_at.ToDatetime(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= booked_at <= datetime.now(UTC)
    # 3 days ahead: cancellable until 48h before the showtime.
    assert made.cancellation_limit_at.ToDatetime(tzinfo=UTC) == starts_at - timedelta(hours=48)

    assert await remaining_credit(booking, young) == CREDIT - 800
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1
    mine = await booking.bookings.GetMyBooking(
        pb.GetMyBookingRequest(booking_id=made.id), metadata=young.metadata
    )
    assert mine.booking == made


async def test_booking_created_event_carries_the_facts(
    booking, young, catalog, issuer, booking_engine
):
    pro = await make_pro(catalog, issuer)
    showtime = await make_showtime(catalog, issuer, pro=pro, is_duo=True, price_cents=650)
    made = await book(booking, young, showtime.stock.id, quantity=2)

    [created] = await outbox_events(booking_engine, events_pb2.BookingCreated)
    facts = created.booking
    assert facts.booking_id == made.id
    assert (facts.stock_id, facts.offer_id, facts.venue_id) == (
        showtime.stock.id,
        showtime.offer.id,
        showtime.venue.id,
    )
    assert (facts.offerer_id, facts.offerer_siren) == (pro.offerer_id, pro.siren)
    assert facts.venue_siret == showtime.venue.siret
    assert (facts.quantity, facts.amount_cents, facts.total_cents) == (2, 650, 1300)
    assert facts.starts_at == showtime.stock.starts_at
    assert created.booked_at == made.booked_at


async def test_a_duo_booking_counts_double(booking, young, catalog, issuer, catalog_engine):
    showtime = await make_showtime(catalog, issuer, is_duo=True, quantity=10)
    made = await book(booking, young, showtime.stock.id, quantity=2)
    assert (made.quantity, made.amount_cents, made.total_cents) == (2, 800, 1600)
    assert await remaining_credit(booking, young) == CREDIT - 1600
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 2


async def test_invalid_quantity(booking, young, catalog, issuer):
    single = await make_showtime(catalog, issuer, is_duo=False)
    duo = await make_showtime(catalog, issuer, is_duo=True)
    for showtime, quantity in ((single, 2), (single, 0), (duo, 3), (duo, -1)):
        assert await refused(book(booking, young, showtime.stock.id, quantity)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_QUANTITY",
        ), quantity


async def test_unknown_stock(booking, young):
    for stock_id in (str(uuid.uuid4()), "not-a-uuid", ""):
        assert await refused(book(booking, young, stock_id)) == (
            grpc.StatusCode.NOT_FOUND,
            "STOCK_NOT_FOUND",
        ), stock_id


async def test_sold_out(booking, young, catalog, issuer):
    showtime = await make_showtime(catalog, issuer, quantity=1)
    await book(booking, await make_beneficiary(booking, issuer), showtime.stock.id)
    assert await refused(book(booking, young, showtime.stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SOLD_OUT",
    )


async def test_a_duo_needs_two_places_left(booking, young, catalog, issuer):
    showtime = await make_showtime(catalog, issuer, is_duo=True, quantity=1)
    assert await refused(book(booking, young, showtime.stock.id, quantity=2)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SOLD_OUT",
    )
    assert (await book(booking, young, showtime.stock.id, quantity=1)).quantity == 1


async def test_not_bookable_offerer_not_validated(booking, young, catalog, issuer):
    pro = await make_pro(catalog, issuer, validated=False)
    showtime = await make_showtime(catalog, issuer, pro=pro)
    assert await refused(book(booking, young, showtime.stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_BOOKABLE",
    )


async def test_not_bookable_offer_deactivated(booking, young, catalog, issuer, showtime):
    await catalog.offers.UpdateOffer(
        offer_service_pb2.UpdateOfferRequest(offer_id=showtime.offer.id, is_active=False),
        metadata=showtime.pro.metadata,
    )
    assert await refused(book(booking, young, showtime.stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NOT_BOOKABLE",
    )


async def test_no_credit(booking, issuer, showtime):
    young = await make_beneficiary(booking, issuer, credit=False)
    assert await refused(book(booking, young, showtime.stock.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NO_CREDIT",
    )


async def test_an_expired_credit_books_nothing(booking, young, showtime, booking_engine):
    async with booking_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE credits SET expires_at = now() - interval '1 second'"
                " WHERE beneficiary_id = :id"
            ),
            {"id": young.id},
        )
    assert await refused(book(booking, young, showtime.stock.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "CREDIT_EXPIRED",
    )
    assert await remaining_credit(booking, young) == 0


async def test_insufficient_credit(booking, young, catalog, issuer):
    expensive = await make_showtime(catalog, issuer, is_duo=True, price_cents=20_000)
    assert await refused(book(booking, young, expensive.stock.id, quantity=2)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSUFFICIENT_CREDIT",
    )
    await book(booking, young, expensive.stock.id, quantity=1)
    other = await make_showtime(catalog, issuer, price_cents=10_001)
    assert await refused(book(booking, young, other.stock.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSUFFICIENT_CREDIT",
    )
    # Exactly what is left is enough.
    exact = await make_showtime(catalog, issuer, price_cents=10_000)
    await book(booking, young, exact.stock.id)
    assert await remaining_credit(booking, young) == 0


async def test_one_booking_per_offer_whatever_the_showtime(booking, young, catalog, showtime):
    later = await catalog.offers.CreateStock(
        offer_service_pb2.CreateStockRequest(
            offer_id=showtime.offer.id,
            starts_at=showtime.stock.starts_at,
            price_cents=900,
        ),
        metadata=showtime.pro.metadata,
    )
    first = await book(booking, young, showtime.stock.id)
    for stock_id in (showtime.stock.id, later.stock.id):
        assert await refused(book(booking, young, stock_id)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ALREADY_BOOKED",
        )
    await cancel(booking, young, first.id)
    assert (await book(booking, young, later.stock.id)).amount_cents == 900


async def test_a_free_showtime_is_bookable(booking, young, catalog, issuer):
    free = await make_showtime(catalog, issuer, price_cents=0)
    made = await book(booking, young, free.stock.id)
    assert (made.status, made.total_cents) == (resources.BOOKING_STATUS_CONFIRMED, 0)
    assert await remaining_credit(booking, young) == CREDIT


# --- idempotency ---------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_returns_the_same_booking(
    booking, young, showtime, catalog_engine, booking_engine
):
    first = await book(booking, young, showtime.stock.id, key="k-1")
    again = await book(booking, young, showtime.stock.id, key="k-1")
    assert again == first
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1
    assert len(await outbox_events(booking_engine, events_pb2.BookingCreated)) == 1
    assert await remaining_credit(booking, young) == CREDIT - 800


async def test_the_same_key_for_another_booking_is_refused(booking, young, catalog, issuer):
    duo = await make_showtime(catalog, issuer, is_duo=True)
    other = await make_showtime(catalog, issuer)
    await book(booking, young, duo.stock.id, key="k-2")
    for stock_id, quantity in ((other.stock.id, 1), (duo.stock.id, 2)):
        assert await refused(book(booking, young, stock_id, quantity, key="k-2")) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "IDEMPOTENCY_KEY_REUSED",
        )


async def test_keys_belong_to_one_beneficiary(booking, young, issuer, showtime):
    mine = await book(booking, young, showtime.stock.id, key="shared")
    theirs = await book(
        booking, await make_beneficiary(booking, issuer), showtime.stock.id, key="shared"
    )
    assert mine.id != theirs.id


async def test_a_retry_of_a_cancelled_booking_answers_it_as_it_is_now(booking, young, showtime):
    made = await book(booking, young, showtime.stock.id, key="k-3")
    await cancel(booking, young, made.id)
    again = await book(booking, young, showtime.stock.id, key="k-3")
    assert (again.id, again.status) == (made.id, resources.BOOKING_STATUS_CANCELLED)


# --- listing -------------------------------------------------------------------------------


async def test_my_bookings_newest_first_with_pages(booking, young, catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    made = []
    for _ in range(5):
        showtime = await make_showtime(catalog, issuer, pro=pro, venue=venue)
        made.append(await book(booking, young, showtime.stock.id))
    seen, token = [], ""
    while True:
        page = await booking.bookings.ListMyBookings(
            pb.ListMyBookingsRequest(page_size=2, page_token=token), metadata=young.metadata
        )
        seen += [b.id for b in page.bookings]
        if not (token := page.next_page_token):
            break
    assert seen == [b.id for b in reversed(made)]


async def test_failed_bookings_are_not_listed(booking, young, showtime, booking_engine):
    made = await book(booking, young, showtime.stock.id)
    async with booking_engine.begin() as conn:
        await conn.execute(
            text("UPDATE bookings SET status = 'FAILED' WHERE id = :id"), {"id": made.id}
        )
    page = await booking.bookings.ListMyBookings(
        pb.ListMyBookingsRequest(), metadata=young.metadata
    )
    assert list(page.bookings) == []


# --- cancelling ----------------------------------------------------------------------------


async def test_cancelling_frees_the_credit_and_tells_the_catalog(
    booking, young, showtime, booking_engine
):
    made = await book(booking, young, showtime.stock.id)
    before = datetime.now(UTC)
    cancelled = await cancel(booking, young, made.id)

    assert cancelled.status == resources.BOOKING_STATUS_CANCELLED
    assert cancelled.cancellation_reason == resources.CANCELLATION_REASON_BENEFICIARY
    assert cancelled.cancelled_at.ToDatetime(tzinfo=UTC) >= before - timedelta(seconds=1)
    assert await remaining_credit(booking, young) == CREDIT
    [event] = await outbox_events(booking_engine, events_pb2.BookingCancelled)
    assert event.reason == "BENEFICIARY"
    assert event.cancelled_at == cancelled.cancelled_at
    assert (event.booking.booking_id, event.booking.stock_id) == (made.id, showtime.stock.id)
    assert (event.booking.quantity, event.booking.total_cents) == (1, 800)
    mine = await booking.bookings.GetMyBooking(
        pb.GetMyBookingRequest(booking_id=made.id), metadata=young.metadata
    )
    assert mine.booking.status == resources.BOOKING_STATUS_CANCELLED


async def test_cancelling_twice(booking, young, showtime, booking_engine):
    made = await book(booking, young, showtime.stock.id)
    await cancel(booking, young, made.id)
    assert await refused(cancel(booking, young, made.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ALREADY_CANCELLED",
    )
    assert len(await outbox_events(booking_engine, events_pb2.BookingCancelled)) == 1


async def test_a_used_booking_cannot_be_cancelled(booking, young, showtime, booking_engine):
    made = await book(booking, young, showtime.stock.id)
    for status in ("USED", "REIMBURSED"):
        async with booking_engine.begin() as conn:
            await conn.execute(
                text("UPDATE bookings SET status = :status WHERE id = :id"),
                {"status": status, "id": made.id},
            )
        assert await refused(cancel(booking, young, made.id)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ALREADY_USED",
        ), status


async def test_a_last_minute_booking_is_never_cancellable(booking, young, catalog, issuer):
    tonight = await make_showtime(catalog, issuer, in_days=1)
    made = await book(booking, young, tonight.stock.id)
    assert made.cancellation_limit_at == made.booked_at
    assert await refused(cancel(booking, young, made.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CANCELLATION_LIMIT_PASSED",
    )


async def test_cancellation_limit_passed(booking, young, showtime, booking_engine):
    made = await book(booking, young, showtime.stock.id)
    async with booking_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE bookings SET cancellation_limit_at = now() - interval '1 second'"
                " WHERE id = :id"
            ),
            {"id": made.id},
        )
    assert await refused(cancel(booking, young, made.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CANCELLATION_LIMIT_PASSED",
    )


async def test_unknown_booking(booking, young):
    for booking_id in (str(uuid.uuid4()), "nope"):
        for call in (
            booking.bookings.GetMyBooking(
                pb.GetMyBookingRequest(booking_id=booking_id), metadata=young.metadata
            ),
            cancel(booking, young, booking_id),
        ):
            assert await refused(call) == (grpc.StatusCode.NOT_FOUND, "BOOKING_NOT_FOUND")
