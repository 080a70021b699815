"""Who may call what on the beneficiary and booking APIs: every role on every RPC, and a young
person's bookings hidden from every other one (answered exactly like an unknown booking)."""

import uuid

import grpc
import pytest

from passculture.booking.v1 import beneficiary_service_pb2 as beneficiaries_pb
from passculture.booking.v1 import booking_service_pb2 as pb
from passculture.booking.v1 import resources_pb2 as resources
from tests.support.booking_helpers import book, make_beneficiary, make_showtime
from tests.support.catalog_helpers import auth, reason_of

SOME_ID = str(uuid.uuid4())

BENEFICIARY_RPCS = {
    "GetMe": ("beneficiaries", beneficiaries_pb.GetMeRequest()),
    "CreateBooking": ("bookings", pb.CreateBookingRequest(stock_id=SOME_ID, quantity=1)),
    "ListMyBookings": ("bookings", pb.ListMyBookingsRequest()),
    "GetMyBooking": ("bookings", pb.GetMyBookingRequest(booking_id=SOME_ID)),
    "CancelMyBooking": ("bookings", pb.CancelMyBookingRequest(booking_id=SOME_ID)),
}
ADMIN_RPCS = {
    "GrantCredit": ("beneficiaries", beneficiaries_pb.GrantCreditRequest(beneficiary_id=SOME_ID)),
}


async def call(booking, rpcs: dict, name: str, metadata: tuple):
    service, request = rpcs[name]
    return await getattr(getattr(booking, service), name)(request, metadata=metadata)


async def refused(call_) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call_
    return failure.value.code(), reason_of(failure.value), failure.value.details()


async def answers(booking, rpcs: dict, metadata: tuple) -> dict[str, tuple]:
    """Each RPC's (code, reason) for this caller."""
    found = {}
    for name in rpcs:
        code, reason, _ = await refused(call(booking, rpcs, name, metadata))
        found[name] = (code, reason)
    return found


async def test_beneficiary_rpcs_refuse_other_roles(booking, issuer):
    forbidden = (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
    for role in ("pro", "admin", "service"):
        metadata = auth(issuer, str(uuid.uuid4()), role)
        assert await answers(booking, BENEFICIARY_RPCS, metadata) == dict.fromkeys(
            BENEFICIARY_RPCS, forbidden
        ), role


async def test_only_admins_grant_credit(booking, issuer):
    forbidden = (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
    for role in ("beneficiary", "pro", "service"):
        metadata = auth(issuer, str(uuid.uuid4()), role)
        assert await answers(booking, ADMIN_RPCS, metadata) == {"GrantCredit": forbidden}, role


async def test_every_protected_rpc_needs_a_valid_token(booking):
    rpcs = {**BENEFICIARY_RPCS, **ADMIN_RPCS}
    for metadata, reason in (
        ((), "UNAUTHENTICATED"),
        ((("authorization", "Bearer not-a-token"),), "INVALID_TOKEN"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), "INVALID_TOKEN"),
    ):
        expected = dict.fromkeys(rpcs, (grpc.StatusCode.UNAUTHENTICATED, reason))
        assert await answers(booking, rpcs, metadata) == expected, metadata


async def test_a_beneficiary_token_must_name_a_beneficiary(booking, issuer):
    metadata = auth(issuer, "not-a-uuid", "beneficiary")
    code, reason, _ = await refused(call(booking, BENEFICIARY_RPCS, "ListMyBookings", metadata))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN")


async def test_a_booking_is_invisible_to_anyone_else(booking, catalog, issuer):
    showtime = await make_showtime(catalog, issuer)
    owner = await make_beneficiary(booking, issuer)
    other = await make_beneficiary(booking, issuer)
    made = await book(booking, owner, showtime.stock.id)

    def get(booking_id: str, young):
        request = pb.GetMyBookingRequest(booking_id=booking_id)
        return booking.bookings.GetMyBooking(request, metadata=young.metadata)

    def cancel(booking_id: str, young):
        request = pb.CancelMyBookingRequest(booking_id=booking_id)
        return booking.bookings.CancelMyBooking(request, metadata=young.metadata)

    for rpc in (get, cancel):
        theirs = await refused(rpc(made.id, other))
        unknown = await refused(rpc(str(uuid.uuid4()), other))
        assert theirs == unknown
        assert theirs[:2] == (grpc.StatusCode.NOT_FOUND, "BOOKING_NOT_FOUND")
    listed = await booking.bookings.ListMyBookings(
        pb.ListMyBookingsRequest(), metadata=other.metadata
    )
    assert list(listed.bookings) == []
    # The failed cancellation changed nothing.
    assert (await get(made.id, owner)).booking.status == resources.BOOKING_STATUS_CONFIRMED
