"""What an offline counter needs: the keys tickets are signed with (public), and the revoked
tickets of a pro's venue (another offerer's venue answers 404, like an unknown one)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from jwt.utils import base64url_encode

from gateway.dependencies import ProBooking, PublicBooking
from gateway.proto_fields import instant
from gateway.schemas.common import Instant
from gateway.schemas.tickets import JwkOut, JwksOut, RevokedTicketsOut
from passculture.booking.v1 import counter_service_pb2 as pb
from pclib.timestamps import timestamp

router = APIRouter(tags=["counter"])
# Keys change only in a rotation, which overlaps for longer than this.
JWKS_CACHE_CONTROL = "public, max-age=300"


@router.get("/v1/tickets/jwks.json")
async def ticket_keys(booking: PublicBooking, response: Response) -> JwksOut:
    """The public keys signed tickets (`PASSCULTURE:v4;<JWS>`) are checked with, by `kid`."""
    reply = await booking.counter.ListTicketKeys(pb.ListTicketKeysRequest())
    response.headers["Cache-Control"] = JWKS_CACHE_CONTROL
    return JwksOut(
        keys=[
            JwkOut(
                kty="OKP",
                crv="Ed25519",
                alg="EdDSA",
                use="sig",
                kid=key.key_id,
                x=base64url_encode(key.public_key).decode(),
            )
            for key in reply.keys
        ]
    )


@router.get("/v1/pro/venues/{venue_id}/tickets/revoked")
async def revoked_tickets(
    venue_id: str,
    booking: ProBooking,
    since: Annotated[
        Instant | None, Query(description="The `next_since` of the previous call")
    ] = None,
) -> RevokedTicketsOut:
    """The tickets an offline counter of the venue must refuse: bookings of its showtimes of
    today and later (venue time) cancelled or used since `since`; poll with `next_since`."""
    request = pb.ListRevokedTicketsRequest(venue_id=venue_id)
    if since is not None:
        request.since.CopyFrom(timestamp(since))
    reply = await booking.counter.ListRevokedTickets(request)
    return RevokedTicketsOut(
        revoked_booking_ids=list(reply.revoked_booking_ids),
        restored_booking_ids=list(reply.restored_booking_ids),
        next_since=instant(reply, "next_since"),
    )
