"""Signed tickets and what an offline counter needs: the ticket keys, the counter taking v4 (and
v3) payloads, validations synced with `validated_at`, and the revoked tickets of a venue. Real
catalog (membership) and booking gRPC servers."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import func, select

from booking import models
from booking.domain.status import BookingStatus
from booking.tickets import TicketKeys
from passculture.booking.v1 import booking_service_pb2 as bookings_pb
from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import resources_pb2 as res
from pclib.auth import bearer_metadata
from pclib.db import make_session_factory
from pclib.grpc_client import error_info
from pclib.timestamps import timestamp, to_datetime
from tests.support.booking_helpers import (
    answer,
    book,
    failure,
    make_beneficiary,
    make_showtime,
    outbox_events,
    store_booking,
)

H = timedelta(hours=1)


def pem_pair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return private, key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def keys_of(ticket_keys) -> TicketKeys:
    return TicketKeys.from_files(str(ticket_keys[0]), str(ticket_keys[1]))


def get(booking, metadata, typed):
    return booking.counter.GetCountermark(
        pb.GetCountermarkRequest(countermark=typed), metadata=metadata
    )


def use(booking, metadata, typed, validated_at: datetime | None = None):
    request = pb.UseCountermarkRequest(countermark=typed)
    if validated_at is not None:
        request.validated_at.CopyFrom(timestamp(validated_at))
    return booking.counter.UseCountermark(request, metadata=metadata)


def revoked(booking, metadata, venue_id, since: datetime | None = None):
    request = pb.ListRevokedTicketsRequest(venue_id=str(venue_id))
    if since is not None:
        request.since.CopyFrom(timestamp(since))
    return booking.counter.ListRevokedTickets(request, metadata=metadata)


# --- the signed ticket -------------------------------------------------------------------------


async def test_a_young_persons_booking_carries_a_ticket_the_published_keys_verify(
    booking, catalog, issuer
):
    showtime = await make_showtime(catalog, issuer, quantity=5)
    young = await make_beneficiary(booking, issuer)
    made = await book(booking, young, showtime.stock.id)

    payload = made.signed_qr_payload
    assert payload.startswith("PASSCULTURE:v4;")
    ticket = payload.removeprefix("PASSCULTURE:v4;")
    header = jwt.get_unverified_header(ticket)
    assert header["alg"] == "EdDSA"
    published = (await booking.counter.ListTicketKeys(pb.ListTicketKeysRequest())).keys
    [key] = [key for key in published if key.key_id == header["kid"]]
    public_key = jwt.algorithms.OKPAlgorithm.from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": jwt.utils.base64url_encode(key.public_key).decode()}
    )
    claims = jwt.decode(ticket, public_key, algorithms=["EdDSA"])
    assert claims == {
        "cm": made.countermark,
        "bid": made.id,
        "sid": showtime.stock.id,
        "vid": showtime.venue.id,
        "st": int(to_datetime(made.starts_at).timestamp()),
        "q": 1,
        "iat": int(to_datetime(made.booked_at).timestamp()),
    }
    # The same ticket every time it is asked for.
    listed = await booking.bookings.ListMyBookings(
        bookings_pb.ListMyBookingsRequest(), metadata=young.metadata
    )
    assert [b.signed_qr_payload for b in listed.bookings] == [payload]


async def test_the_pros_answers_carry_no_ticket(booking, booking_engine, pro, venue):
    stored = await store_booking(booking_engine, venue)
    found = (await get(booking, pro.metadata, stored.booking.countermark)).booking
    assert found.signed_qr_payload == ""


def test_the_signing_key_must_be_among_the_published_keys():
    private, _ = pem_pair()
    _, other_public = pem_pair()
    with pytest.raises(ValueError, match="not a ticket public key"):
        TicketKeys(private, other_public)


def test_during_a_rotation_both_keys_are_published_and_accepted(ticket_keys):
    old = keys_of(ticket_keys)
    new_private, new_public = pem_pair()
    both = ticket_keys[1].read_bytes() + new_public
    rotated = TicketKeys(new_private, both)
    assert len(rotated.public_keys) == 2

    booking = models.Booking(
        id=uuid.uuid4(),
        countermark="ABC234",
        stock_id=uuid.uuid4(),
        venue_id=uuid.uuid4(),
        starts_at=datetime.now(UTC) + H,
        booked_at=datetime.now(UTC),
        quantity=2,
    )
    signed_before = old.signed_qr_payload(booking).removeprefix("PASSCULTURE:v4;")
    signed_after = rotated.signed_qr_payload(booking).removeprefix("PASSCULTURE:v4;")
    assert rotated.countermark_of(signed_before) == rotated.countermark_of(signed_after) == "ABC234"
    # Once the old key is forgotten, its tickets are not.
    assert TicketKeys(new_private, new_public).countermark_of(signed_before) is None


# --- the counter reads QR payloads ---------------------------------------------------------------


async def test_the_counter_takes_v4_and_v3_payloads(
    booking, booking_engine, pro, venue, ticket_keys
):
    stored = await store_booking(booking_engine, venue)
    v4 = keys_of(ticket_keys).signed_qr_payload(stored.booking)
    v3 = f"PASSCULTURE:v3;TOKEN:{stored.booking.countermark}"
    for typed in (v4, v3, f" {stored.booking.countermark[:3]} {stored.booking.countermark[3:]} "):
        assert (await get(booking, pro.metadata, typed)).booking.id == str(stored.booking.id)
    assert (await use(booking, pro.metadata, v4)).booking.status == res.BOOKING_STATUS_USED


def tampered(payload: str, **changes) -> str:
    """The ticket with other claims and its original signature."""
    header, claims, signature = payload.removeprefix("PASSCULTURE:v4;").split(".")
    decoded = jwt.decode(f"{header}.{claims}.{signature}", options={"verify_signature": False})
    forged = jwt.encode(decoded | changes, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    return f"PASSCULTURE:v4;{header}.{forged.split('.')[1]}.{signature}"


def signed_by_another_key(payload: str) -> str:
    """The same claims and `kid`, signed with a key that is not a ticket key."""
    ticket = payload.removeprefix("PASSCULTURE:v4;")
    claims = jwt.decode(ticket, options={"verify_signature": False})
    kid = jwt.get_unverified_header(ticket)["kid"]
    forger = Ed25519PrivateKey.generate()
    return "PASSCULTURE:v4;" + jwt.encode(claims, forger, algorithm="EdDSA", headers={"kid": kid})


async def test_a_forged_ticket_is_an_unknown_countermark(
    booking, booking_engine, pro, venue, ticket_keys
):
    mine = await store_booking(booking_engine, venue)
    other = await store_booking(booking_engine, venue)
    genuine = keys_of(ticket_keys).signed_qr_payload(other.booking)
    forgeries = [
        tampered(genuine, cm=mine.booking.countermark),
        signed_by_another_key(keys_of(ticket_keys).signed_qr_payload(mine.booking)),
        "PASSCULTURE:v4;not-a-jws",
    ]
    reference = answer(await failure(get(booking, pro.metadata, "ZZZZZ2")))
    for forged in forgeries:
        assert answer(await failure(get(booking, pro.metadata, forged))) == reference
        assert answer(await failure(use(booking, pro.metadata, forged))) == reference
    async with booking_engine.connect() as conn:
        status = await conn.scalar(
            select(models.Booking.status).where(models.Booking.id == mine.booking.id)
        )
        failures = await conn.scalar(select(func.count()).select_from(models.CounterFailure))
    assert status == "CONFIRMED"
    # Each forgery counts against the account, like a wrong countermark.
    assert failures == 1 + 2 * len(forgeries)


# --- validations made offline, synced later -------------------------------------------------------


async def test_an_offline_validation_keeps_its_time(booking, booking_engine, pro, venue):
    now = datetime.now(UTC)
    stored = await store_booking(
        booking_engine, venue, booked_at=now - 2 * H, updated_at=now - 2 * H
    )
    validated_at = now - timedelta(minutes=20)

    used = (await use(booking, pro.metadata, stored.booking.countermark, validated_at)).booking

    assert used.status == res.BOOKING_STATUS_USED
    assert to_datetime(used.used_at) == validated_at
    [event] = await outbox_events(booking_engine, events_pb2.BookingUsed)
    assert to_datetime(event.used_at) == validated_at


@pytest.mark.parametrize("offset", [timedelta(hours=1), -3 * H])
async def test_an_offline_validation_in_the_future_or_before_the_booking_is_refused(
    booking, booking_engine, pro, venue, offset
):
    now = datetime.now(UTC)
    stored = await store_booking(booking_engine, venue, booked_at=now - 2 * H)

    error = await failure(use(booking, pro.metadata, stored.booking.countermark, now + offset))

    assert answer(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_VALIDATED_AT")
    async with booking_engine.connect() as conn:
        status = await conn.scalar(
            select(models.Booking.status).where(models.Booking.id == stored.booking.id)
        )
    assert status == "CONFIRMED"


async def test_a_ticket_validated_offline_at_two_counters_is_a_conflict_on_the_second_sync(
    booking, booking_engine, pro, venue
):
    now = datetime.now(UTC)
    stored = await store_booking(
        booking_engine, venue, booked_at=now - 2 * H, updated_at=now - 2 * H
    )
    first, second = now - timedelta(minutes=30), now - timedelta(minutes=10)

    await use(booking, pro.metadata, stored.booking.countermark, second)
    error = await failure(use(booking, pro.metadata, stored.booking.countermark, first))

    assert answer(error) == (grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_ALREADY_USED")
    # When the first sync says it was used, in the venue's time.
    assert datetime.fromisoformat(error_info(error).metadata["used_at"]) == second


# --- the revoked tickets of a venue ---------------------------------------------------------------


async def ids(reply) -> tuple[set[str], set[str]]:
    answered = await reply
    return set(answered.revoked_booking_ids), set(answered.restored_booking_ids)


async def test_the_revoked_tickets_of_today_and_later(booking, booking_engine, pro, venue):
    now = datetime.now(UTC)
    later = {"starts_at": now + 3 * H}
    cancelled = await store_booking(booking_engine, venue, status="CANCELLED", **later)
    used = await store_booking(booking_engine, venue, status="USED", **later)
    reimbursed = await store_booking(booking_engine, venue, status="REIMBURSED", **later)
    await store_booking(booking_engine, venue, **later)  # still valid
    await store_booking(booking_engine, venue, status="PENDING", **later)
    await store_booking(booking_engine, venue, status="USED", starts_at=now - 30 * H)  # yesterday

    first = await revoked(booking, pro.metadata, venue.id)

    assert set(first.revoked_booking_ids) == {
        str(row.booking.id) for row in (cancelled, used, reimbursed)
    }
    assert list(first.restored_booking_ids) == []
    assert to_datetime(first.next_since) <= datetime.now(UTC)
    # Nothing changed since: nothing to tell.
    assert await ids(revoked(booking, pro.metadata, venue.id, to_datetime(first.next_since))) == (
        set(),
        set(),
    )


async def test_a_poll_tells_what_was_used_cancelled_or_undone_since_the_last(
    booking, booking_engine, pro, venue
):
    later = {"starts_at": datetime.now(UTC) + 3 * H}
    to_use = await store_booking(booking_engine, venue, **later)
    to_unuse = await store_booking(booking_engine, venue, status="USED", **later)
    since = to_datetime((await revoked(booking, pro.metadata, venue.id)).next_since)

    await use(booking, pro.metadata, to_use.booking.countermark)
    await booking.counter.UnuseCountermark(
        pb.UnuseCountermarkRequest(countermark=to_unuse.booking.countermark), metadata=pro.metadata
    )

    assert await ids(revoked(booking, pro.metadata, venue.id, since)) == (
        {str(to_use.booking.id)},
        {str(to_unuse.booking.id)},
    )


async def test_another_offerers_venue_is_as_unknown_as_an_unknown_one(
    booking, booking_engine, issuer, pro, venue, other_venue
):
    await store_booking(booking_engine, other_venue, status="CANCELLED")

    answers = [
        await failure(revoked(booking, pro.metadata, venue_id))
        for venue_id in (other_venue.id, uuid.uuid4(), "not-an-id")
    ]

    assert {(answer(error), error.details()) for error in answers} == {
        ((grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND"), "venue not found")
    }
    admin = bearer_metadata(issuer.issue(str(uuid.uuid4()), "admin"))
    assert len((await revoked(booking, admin, other_venue.id)).revoked_booking_ids) == 1
    young = bearer_metadata(issuer.issue(str(uuid.uuid4()), "beneficiary"))
    assert answer(await failure(revoked(booking, young, venue.id)))[1] == "FORBIDDEN"


async def test_a_change_committed_after_a_poll_began_is_in_the_next_poll(
    booking, booking_engine, pro, venue
):
    """A cancellation whose transaction started before a poll and committed after it: stamped
    before the poll, it is still answered by the next one."""
    stored = await store_booking(booking_engine, venue, starts_at=datetime.now(UTC) + 3 * H)
    sessions = make_session_factory(booking_engine)
    async with sessions.begin() as writer:
        row = await writer.get_one(models.Booking, stored.booking.id, with_for_update=True)
        row.status = BookingStatus.CANCELLED
        row.cancelled_at = datetime.now(UTC)
        await writer.flush()  # stamped now(), this transaction's start
        await asyncio.sleep(0.05)
        polled_at = datetime.now(UTC)
        poll = await revoked(booking, pro.metadata, venue.id)
        assert list(poll.revoked_booking_ids) == []  # not committed yet
    # Negative control: the change is stamped before the poll began, so a cursor taken at the
    # poll's own time would have skipped it.
    async with booking_engine.connect() as conn:
        stamped = await conn.scalar(
            select(models.Booking.updated_at).where(models.Booking.id == stored.booking.id)
        )
    assert stamped < polled_at
    assert to_datetime(poll.next_since) <= stamped

    after = await revoked(booking, pro.metadata, venue.id, to_datetime(poll.next_since))

    assert list(after.revoked_booking_ids) == [str(stored.booking.id)]
