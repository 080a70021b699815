"""The counter ("guichet"): a pro looks a countermark up, validates it, un-validates it; and the
list of the bookings of the pro's venues. Real catalog (membership) and booking gRPC servers."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from sqlalchemy import select, text

from booking import models
from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import resources_pb2 as res
from pclib.grpc_client import error_info
from tests.support.booking_helpers import (
    answer,
    failure,
    outbox_events,
    running_booking,
    store_booking,
    store_venue,
)
from tests.support.catalog_helpers import auth
from tests.support.pclib_fixtures import eventually

NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "COUNTERMARK_NOT_FOUND")


def get(booking, metadata, countermark):
    return booking.counter.GetCountermark(
        pb.GetCountermarkRequest(countermark=countermark), metadata=metadata
    )


def use(booking, metadata, countermark):
    return booking.counter.UseCountermark(
        pb.UseCountermarkRequest(countermark=countermark), metadata=metadata
    )


def unuse(booking, metadata, countermark):
    return booking.counter.UnuseCountermark(
        pb.UnuseCountermarkRequest(countermark=countermark), metadata=metadata
    )


CALLS = {"get": get, "use": use, "unuse": unuse}


def whole(error: grpc.aio.AioRpcError) -> tuple:
    """Everything a caller can read of a failure: code, message, and the serialized status
    with its ErrorInfo (reason, domain, metadata)."""
    trailing = dict(error.trailing_metadata() or ())
    return error.code(), error.details(), trailing.get("grpc-status-details-bin")


async def status_of(engine, booking_id) -> str:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(models.Booking.status).where(models.Booking.id == booking_id)
        )


async def routing_keys(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT routing_key FROM outbox ORDER BY created_at"))
        return [row.routing_key for row in rows]


# --- the 404: unknown and another offerer's look the same -----------------------------------


@pytest.mark.parametrize("call", CALLS)
async def test_unknown_and_another_offerers_countermark_answer_exactly_the_same(
    booking, booking_engine, pro, other_venue, call
):
    foreign = await store_booking(booking_engine, other_venue)
    unknown = "ZZZZZ2" if foreign.booking.countermark != "ZZZZZ2" else "ZZZZZ3"
    act = CALLS[call]

    answers = [
        whole(await failure(act(booking, pro.metadata, typed)))
        for typed in (unknown, foreign.booking.countermark, foreign.booking.countermark.lower())
    ]

    assert answers[0] == answers[1] == answers[2]
    error = await failure(act(booking, pro.metadata, foreign.booking.countermark))
    assert answer(error) == NOT_FOUND
    assert error_info(error).metadata == {}
    assert await status_of(booking_engine, foreign.booking.id) == "CONFIRMED"
    assert await routing_keys(booking_engine) == []


@pytest.mark.parametrize("typed", ["", "ABC", "ABCDE1", "ABCDEFG", "ABC DE", "AB%_DE"])
async def test_what_cannot_be_a_countermark_is_simply_unknown(
    booking, booking_engine, pro, venue, typed
):
    await store_booking(booking_engine, venue)
    reference = whole(await failure(get(booking, pro.metadata, "ZZZZZ2")))
    assert whole(await failure(get(booking, pro.metadata, typed))) == reference


async def test_pending_and_failed_bookings_are_not_at_the_counter(
    booking, booking_engine, pro, venue
):
    reference = whole(await failure(get(booking, pro.metadata, "ZZZZZ2")))
    for status in ("PENDING", "FAILED"):
        stored = await store_booking(booking_engine, venue, status=status)
        error = await failure(get(booking, pro.metadata, stored.booking.countermark))
        assert whole(error) == reference


# --- looking up and validating --------------------------------------------------------------


async def test_a_countermark_is_found_in_any_case(booking, booking_engine, pro, venue):
    stored = await store_booking(
        booking_engine, venue, young={"first_name": "Léa", "last_name": "Martin"}, quantity=2
    )

    reply = await get(booking, pro.metadata, f"  {stored.booking.countermark.lower()} ")

    found = reply.booking
    assert found.id == str(stored.booking.id)
    assert found.countermark == stored.booking.countermark
    assert found.status == res.BOOKING_STATUS_CONFIRMED
    assert (found.quantity, found.amount_cents, found.total_cents) == (2, 800, 1600)
    assert found.offer_title == "La Dernière Séance"
    assert found.venue_id == str(venue.id)
    assert found.venue_timezone == "Europe/Paris"
    assert list(found.features) == ["VF"]
    assert (found.beneficiary_first_name, found.beneficiary_last_name) == ("Léa", "Martin")
    assert found.beneficiary_email == stored.beneficiary.email
    assert not found.HasField("used_at")
    # Looking changes nothing.
    assert await status_of(booking_engine, stored.booking.id) == "CONFIRMED"
    assert await routing_keys(booking_engine) == []


async def test_use_then_unuse_then_use_again(booking, booking_engine, pro, venue):
    stored = await store_booking(booking_engine, venue)
    countermark = stored.booking.countermark

    used = (await use(booking, pro.metadata, countermark.lower())).booking
    assert used.status == res.BOOKING_STATUS_USED
    assert used.validated_by == res.VALIDATION_AUTHOR_OFFERER
    used_at = used.used_at.ToDatetime(tzinfo=UTC)
    assert abs(datetime.now(UTC) - used_at) < timedelta(seconds=10)

    unused = (await unuse(booking, pro.metadata, countermark)).booking
    assert unused.status == res.BOOKING_STATUS_CONFIRMED
    assert not unused.HasField("used_at")
    assert unused.validated_by == res.VALIDATION_AUTHOR_UNSPECIFIED

    again = (await use(booking, pro.metadata, countermark)).booking
    assert again.status == res.BOOKING_STATUS_USED

    assert await status_of(booking_engine, stored.booking.id) == "USED"
    assert await routing_keys(booking_engine) == ["booking.used", "booking.unused", "booking.used"]
    used_events = await outbox_events(booking_engine, events_pb2.BookingUsed)
    assert [e.validated_by for e in used_events] == ["OFFERER", "OFFERER"]
    facts = used_events[0].booking
    assert (facts.booking_id, facts.venue_id, facts.offerer_id) == (
        str(stored.booking.id),
        str(venue.id),
        str(venue.offerer_id),
    )
    assert (facts.quantity, facts.amount_cents, facts.total_cents) == (1, 800, 800)
    (unused_event,) = await outbox_events(booking_engine, events_pb2.BookingUnused)
    assert unused_event.booking.booking_id == str(stored.booking.id)


async def test_a_used_booking_is_gone_for_get_and_use(booking, booking_engine, pro, venue):
    # api.md: "Counter errors, for GET and use": a used countermark answers 410 to both; the
    # counter offers "unuse" from that answer.
    used_at = datetime(2027, 1, 15, 13, 5, tzinfo=UTC)
    stored = await store_booking(booking_engine, venue, status="USED", used_at=used_at)

    for act in (get, use):
        error = await failure(act(booking, pro.metadata, stored.booking.countermark))
        assert answer(error) == (grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_ALREADY_USED")
        assert error_info(error).metadata == {"used_at": "2027-01-15T14:05:00+01:00"}
    assert await routing_keys(booking_engine) == []


@pytest.mark.parametrize(
    ("status", "call", "code", "reason"),
    [
        ("CANCELLED", "get", grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_CANCELLED"),
        ("CANCELLED", "use", grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_CANCELLED"),
        ("CANCELLED", "unuse", grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_NOT_USED"),
        ("REIMBURSED", "get", grpc.StatusCode.PERMISSION_DENIED, "BOOKING_REIMBURSED"),
        ("REIMBURSED", "use", grpc.StatusCode.PERMISSION_DENIED, "BOOKING_REIMBURSED"),
        ("REIMBURSED", "unuse", grpc.StatusCode.PERMISSION_DENIED, "BOOKING_REIMBURSED"),
        ("CONFIRMED", "unuse", grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_NOT_USED"),
    ],
)
async def test_the_counter_refuses(booking, booking_engine, pro, venue, status, call, code, reason):
    stored = await store_booking(booking_engine, venue, status=status)

    error = await failure(CALLS[call](booking, pro.metadata, stored.booking.countermark))

    assert answer(error) == (code, reason)
    assert await status_of(booking_engine, stored.booking.id) == status
    assert await routing_keys(booking_engine) == []


async def test_not_yet_validatable_says_from_when_in_the_venues_local_time(
    booking, booking_engine, pro
):
    reunion = await store_venue(
        booking_engine, offerer_id=pro.offerer_id, timezone="Indian/Reunion"
    )
    limit = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    stored = await store_booking(
        booking_engine,
        reunion,
        booked_at=limit - timedelta(hours=48),
        starts_at=limit + timedelta(days=5),
        cancellation_limit_at=limit,
    )
    expected = limit.astimezone(ZoneInfo("Indian/Reunion")).isoformat()
    assert expected.endswith("+04:00")

    for act in (get, use):
        error = await failure(act(booking, pro.metadata, stored.booking.countermark))
        assert answer(error) == (grpc.StatusCode.PERMISSION_DENIED, "BOOKING_NOT_YET_VALIDATABLE")
        assert error_info(error).metadata == {"validatable_from": expected}
    assert await status_of(booking_engine, stored.booking.id) == "CONFIRMED"


async def test_two_counters_validating_at_once_validate_once(booking, booking_engine, pro, venue):
    stored = await store_booking(booking_engine, venue)

    results = await asyncio.gather(
        *(use(booking, pro.metadata, stored.booking.countermark) for _ in range(6)),
        return_exceptions=True,
    )

    succeeded = [r for r in results if not isinstance(r, Exception)]
    refused = [answer(r) for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(succeeded) == 1
    assert refused == [(grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_ALREADY_USED")] * 5
    assert await routing_keys(booking_engine) == ["booking.used"]


# --- who may call ---------------------------------------------------------------------------


async def test_an_admin_reaches_every_offerers_bookings(booking, booking_engine, issuer, venue):
    stored = await store_booking(booking_engine, venue)
    admin = auth(issuer, str(uuid.uuid4()), "admin")
    reply = await get(booking, admin, stored.booking.countermark)
    assert reply.booking.id == str(stored.booking.id)


async def test_only_pros_and_admins(booking, booking_engine, issuer, venue):
    stored = await store_booking(booking_engine, venue)
    young = auth(issuer, str(stored.beneficiary.id), "beneficiary")
    for act in CALLS.values():
        error = await failure(act(booking, young, stored.booking.countermark))
        assert answer(error) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
        error = await failure(act(booking, (), stored.booking.countermark))
        assert answer(error) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    error = await failure(booking.counter.ListProBookings(pb.ListProBookingsRequest()))
    assert answer(error) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


# --- throttling -----------------------------------------------------------------------------


@pytest.fixture
async def strict_booking(booking_engine, verifier, booking_settings):
    """A booking server allowing 3 wrong countermarks per 2 seconds."""
    settings = booking_settings.model_copy(
        update={"counter_max_failures": 3, "counter_window_seconds": 2}
    )
    async with running_booking(booking_engine, verifier, settings) as (_, stubs):
        yield stubs


async def failure_ids(engine) -> list[int]:
    async with engine.connect() as conn:
        ids = await conn.scalars(
            select(models.CounterFailure.id).order_by(models.CounterFailure.id)
        )
        return list(ids)


async def test_repeated_wrong_countermarks_are_throttled_then_forgiven(
    strict_booking, booking_engine, pro, other_pro, venue, other_venue
):
    booking = strict_booking
    mine = await store_booking(booking_engine, venue)
    foreign = await store_booking(booking_engine, other_venue)
    for typed in ("ZZZZZ2", foreign.booking.countermark, "nope"):
        assert answer(await failure(get(booking, pro.metadata, typed))) == NOT_FOUND

    # Refused before the countermark is even looked up: a right one too, and for every call.
    for act in CALLS.values():
        error = await failure(act(booking, pro.metadata, mine.booking.countermark))
        assert answer(error) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS")
        assert error_info(error).metadata["retry_after_seconds"] in ("1", "2")
    # Listing bookings involves no countermark: not throttled.
    listed = await booking.counter.ListProBookings(
        pb.ListProBookingsRequest(), metadata=pro.metadata
    )
    assert [b.id for b in listed.bookings] == [str(mine.booking.id)]
    # Another account is not concerned.
    assert (await get(booking, other_pro.metadata, foreign.booking.countermark)).booking.id
    assert await status_of(booking_engine, mine.booking.id) == "CONFIRMED"

    async def forgiven() -> bool:
        try:
            await get(booking, pro.metadata, mine.booking.countermark)
        except grpc.aio.AioRpcError as error:
            assert answer(error)[1] == "TOO_MANY_ATTEMPTS"
            return False
        return True

    oldest = await failure_ids(booking_engine)
    await eventually(forgiven, within=6)
    # Forgiven once the oldest failure left the window; a new failure prunes it.
    await failure(get(booking, pro.metadata, "ZZZZZ2"))
    remaining = await failure_ids(booking_engine)
    assert oldest[0] not in remaining
    assert remaining[-1] == oldest[-1] + 1


# --- the bookings of the pro's venues -------------------------------------------------------


async def test_pros_list_the_bookings_of_their_own_offerers_only(
    booking, booking_engine, issuer, pro, other_pro, venue, other_venue
):
    now = datetime.now(UTC)
    second_venue = await store_venue(booking_engine, offerer_id=pro.offerer_id, name="Salle 2")

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    confirmed = await store_booking(booking_engine, venue, booked_at=ago(3))
    used = await store_booking(booking_engine, venue, status="USED", booked_at=ago(2))
    cancelled = await store_booking(
        booking_engine, second_venue, status="CANCELLED", booked_at=ago(1)
    )
    await store_booking(booking_engine, venue, status="PENDING", booked_at=ago(0))
    await store_booking(booking_engine, venue, status="FAILED", booked_at=ago(0))
    theirs = await store_booking(booking_engine, other_venue, booked_at=ago(1) - timedelta(hours=1))

    async def ids(metadata, **filters) -> list[str]:
        reply = await booking.counter.ListProBookings(
            pb.ListProBookingsRequest(**filters), metadata=metadata
        )
        return [b.id for b in reply.bookings]

    def id_of(*stored) -> list[str]:
        return [str(s.booking.id) for s in stored]

    assert await ids(pro.metadata) == id_of(cancelled, used, confirmed)
    assert await ids(other_pro.metadata) == id_of(theirs)
    assert await ids(pro.metadata, venue_id=str(venue.id)) == id_of(used, confirmed)
    assert await ids(pro.metadata, venue_id=str(other_venue.id)) == []
    assert await ids(pro.metadata, venue_id="not-an-id") == []
    assert await ids(pro.metadata, status=res.BOOKING_STATUS_USED) == id_of(used)
    assert await ids(pro.metadata, status=res.BOOKING_STATUS_PENDING) == []
    admin = auth(issuer, str(uuid.uuid4()), "admin")
    assert await ids(admin) == id_of(cancelled, theirs, used, confirmed)

    first = await booking.counter.ListProBookings(
        pb.ListProBookingsRequest(page_size=2), metadata=pro.metadata
    )
    second = await booking.counter.ListProBookings(
        pb.ListProBookingsRequest(page_size=2, page_token=first.next_page_token),
        metadata=pro.metadata,
    )
    assert [b.id for b in first.bookings] == id_of(cancelled, used)
    assert [b.id for b in second.bookings] == id_of(confirmed)
    assert second.next_page_token == ""
    listed = first.bookings[1]
    assert listed.status == res.BOOKING_STATUS_USED
    assert listed.beneficiary_email == used.beneficiary.email

    error = await failure(
        booking.counter.ListProBookings(
            pb.ListProBookingsRequest(page_token="garbage"), metadata=pro.metadata
        )
    )
    assert answer(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
