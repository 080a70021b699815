"""An offerer's members through MemberService, against a real database: invitations (hashed
tokens, single use, 7 days), accepting with a new or an existing account, listing, and removing
(at once, never the last member)."""

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import text

from catalog import members
from passculture.catalog.v1 import account_service_pb2 as accounts_pb
from passculture.catalog.v1 import member_service_pb2 as pb
from passculture.catalog.v1 import venue_service_pb2 as venues_pb
from pclib.timestamps import to_datetime
from tests.support.catalog_helpers import (
    Pro,
    auth,
    invite,
    make_pro,
    make_venue,
    new_siren,
    reason_of,
    refusal,
)

PASSWORD = "correct horse battery"


def accept(token: str, password: str = PASSWORD, **names: str) -> pb.AcceptInvitationRequest:
    return pb.AcceptInvitationRequest(
        token=token,
        password=password,
        first_name=names.get("first_name", "Colette"),
        last_name=names.get("last_name", "Collègue"),
    )


async def my_offerer_ids(catalog, metadata) -> set[str]:
    reply = await catalog.accounts.ListMyOfferers(
        accounts_pb.ListMyOfferersRequest(), metadata=metadata
    )
    return {offerer.id for offerer in reply.offerers}


async def joined(catalog, engine, issuer, pro: Pro, email: str | None = None) -> Pro:
    """A new account invited to `pro`'s offerer, having accepted: as a Pro of that offerer."""
    email = email or f"colleague-{uuid.uuid4().hex[:8]}@cinema.test"
    _, token = await invite(catalog, engine, pro, email)
    reply = await catalog.members.AcceptInvitation(accept(token))
    return Pro(reply.user.id, pro.offerer_id, pro.siren, auth(issuer, reply.user.id, "pro"))


async def test_an_invitation_emails_a_token_of_which_only_the_hash_is_kept(
    catalog, catalog_engine, issuer
):
    pro = await make_pro(catalog, issuer)
    before = datetime.now(UTC)
    invitation, token = await invite(catalog, catalog_engine, pro, "  Colette@Cinema.TEST ")

    assert invitation.email == "colette@cinema.test"
    assert invitation.offerer_id == pro.offerer_id
    lifetime = to_datetime(invitation.expires_at) - to_datetime(invitation.created_at)
    assert lifetime == timedelta(days=7)
    assert to_datetime(invitation.created_at) >= before - timedelta(seconds=1)
    async with catalog_engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM invitations"))).one()
    assert bytes(row.token_hash) == hashlib.sha256(token.encode()).digest()
    assert token not in repr(row._asdict())


async def test_a_new_account_joins_with_the_invitation_and_gets_the_offerers_rights(
    catalog, catalog_engine, issuer
):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    _, token = await invite(catalog, catalog_engine, pro, "colette@cinema.test")

    reply = await catalog.members.AcceptInvitation(accept(token))
    assert reply.created_account
    assert (reply.user.email, reply.user.first_name) == ("colette@cinema.test", "Colette")
    assert reply.offerer.id == pro.offerer_id
    # The new account signs in with its password and reaches the offerer's venues.
    signed_in = await catalog.accounts.AuthenticateProUser(
        accounts_pb.AuthenticateProUserRequest(email="colette@cinema.test", password=PASSWORD)
    )
    colleague = auth(issuer, signed_in.user.id, "pro")
    assert await my_offerer_ids(catalog, colleague) == {pro.offerer_id}
    got = await catalog.venues.GetVenue(
        venues_pb.GetVenueRequest(venue_id=venue.id), metadata=colleague
    )
    assert got.venue.id == venue.id

    # The link works once.
    code, reason, _ = await refusal(catalog.members.AcceptInvitation(accept(token)))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVITATION_USED")


async def test_an_existing_account_is_attached_with_its_own_password(
    catalog, catalog_engine, issuer
):
    inviting = await make_pro(catalog, issuer)
    email = f"owner-{uuid.uuid4().hex[:8]}@other-cinema.test"
    other = await catalog.accounts.CreateProAccount(
        accounts_pb.CreateProAccountRequest(
            email=email,
            password=PASSWORD,
            first_name="Otto",
            last_name="Autre",
            offerer_siren=new_siren(),
            offerer_name="Autre Cinéma",
        )
    )
    _, token = await invite(catalog, catalog_engine, inviting, email)

    code, reason, _ = await refusal(
        catalog.members.AcceptInvitation(accept(token, password="not the password"))
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")
    reply = await catalog.members.AcceptInvitation(accept(token, first_name="Ignored"))
    assert not reply.created_account
    assert (reply.user.id, reply.user.first_name) == (other.user.id, "Otto")
    metadata = auth(issuer, other.user.id, "pro")
    assert await my_offerer_ids(catalog, metadata) == {other.offerer.id, inviting.offerer_id}


async def test_an_expired_or_unknown_invitation_is_refused(catalog, catalog_engine, issuer):
    pro = await make_pro(catalog, issuer)
    invitation, token = await invite(catalog, catalog_engine, pro, "late@cinema.test")
    async with catalog_engine.begin() as conn:
        await conn.execute(
            text("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": invitation.id},
        )
    code, reason, _ = await refusal(catalog.members.AcceptInvitation(accept(token)))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVITATION_EXPIRED")
    code, reason, _ = await refusal(catalog.members.AcceptInvitation(accept(token + "x")))
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND")


async def test_a_new_account_needs_a_password_and_names(catalog, catalog_engine, issuer):
    pro = await make_pro(catalog, issuer)
    _, token = await invite(catalog, catalog_engine, pro, "new@cinema.test")
    code, reason, _ = await refusal(catalog.members.AcceptInvitation(accept(token, "short")))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PASSWORD_TOO_SHORT")
    code, reason, _ = await refusal(catalog.members.AcceptInvitation(accept(token, first_name=" ")))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIRST_NAME")
    # Refusals spend nothing.
    assert (await catalog.members.AcceptInvitation(accept(token))).created_account


async def test_only_members_invite_and_not_a_member_twice(catalog, catalog_engine, issuer):
    pro, stranger = await make_pro(catalog, issuer), await make_pro(catalog, issuer)
    code, reason, _ = await refusal(
        catalog.members.InviteMember(
            pb.InviteMemberRequest(offerer_id=pro.offerer_id, email="x@cinema.test"),
            metadata=stranger.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "OFFERER_NOT_FOUND")
    member = await joined(catalog, catalog_engine, issuer, pro, "member@cinema.test")
    # A member invites too; the email of a member is refused.
    code, reason, _ = await refusal(
        catalog.members.InviteMember(
            pb.InviteMemberRequest(offerer_id=pro.offerer_id, email="MEMBER@cinema.test"),
            metadata=member.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_MEMBER")
    code, reason, _ = await refusal(
        catalog.members.InviteMember(
            pb.InviteMemberRequest(offerer_id=pro.offerer_id, email="not an email"),
            metadata=member.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_EMAIL")


async def test_members_are_listed_oldest_first_in_pages(catalog, catalog_engine, issuer):
    pro = await make_pro(catalog, issuer)
    first = await joined(catalog, catalog_engine, issuer, pro, "b-first@cinema.test")
    second = await joined(catalog, catalog_engine, issuer, pro, "a-second@cinema.test")
    request = pb.ListMembersRequest(offerer_id=pro.offerer_id, page_size=2)
    page = await catalog.members.ListMembers(request, metadata=second.metadata)
    assert [m.user_id for m in page.members] == [pro.user_id, first.user_id]
    assert page.next_page_token
    request.page_token = page.next_page_token
    rest = await catalog.members.ListMembers(request, metadata=pro.metadata)
    assert [(m.user_id, m.email) for m in rest.members] == [
        (second.user_id, "a-second@cinema.test")
    ]
    assert not rest.next_page_token

    stranger = await make_pro(catalog, issuer)
    code, reason, _ = await refusal(
        catalog.members.ListMembers(request, metadata=stranger.metadata)
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "OFFERER_NOT_FOUND")


async def test_a_removed_member_loses_the_offerer_on_the_next_call(catalog, catalog_engine, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    member = await joined(catalog, catalog_engine, issuer, pro)
    get_venue = venues_pb.GetVenueRequest(venue_id=venue.id)
    await catalog.venues.GetVenue(get_venue, metadata=member.metadata)

    await catalog.members.RemoveMember(
        pb.RemoveMemberRequest(offerer_id=pro.offerer_id, user_id=member.user_id),
        metadata=pro.metadata,
    )
    # The same access token, the very next call.
    code, reason, _ = await refusal(catalog.venues.GetVenue(get_venue, metadata=member.metadata))
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")
    assert await my_offerer_ids(catalog, member.metadata) == set()
    code, reason, _ = await refusal(
        catalog.members.RemoveMember(
            pb.RemoveMemberRequest(offerer_id=pro.offerer_id, user_id=member.user_id),
            metadata=pro.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "MEMBER_NOT_FOUND")


async def test_the_last_member_cannot_leave(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    code, reason, _ = await refusal(
        catalog.members.RemoveMember(
            pb.RemoveMemberRequest(offerer_id=pro.offerer_id, user_id=pro.user_id),
            metadata=pro.metadata,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LAST_MEMBER")
    assert await my_offerer_ids(catalog, pro.metadata) == {pro.offerer_id}


async def remove_each_other(catalog, catalog_engine, issuer) -> tuple[list, int]:
    """Two members of an offerer remove each other at once: (the answers, members left)."""
    pro = await make_pro(catalog, issuer)
    member = await joined(catalog, catalog_engine, issuer, pro)
    answers = await asyncio.gather(
        catalog.members.RemoveMember(
            pb.RemoveMemberRequest(offerer_id=pro.offerer_id, user_id=member.user_id),
            metadata=pro.metadata,
        ),
        catalog.members.RemoveMember(
            pb.RemoveMemberRequest(offerer_id=pro.offerer_id, user_id=pro.user_id),
            metadata=member.metadata,
        ),
        return_exceptions=True,
    )
    async with catalog_engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM memberships WHERE offerer_id = :id"),
            {"id": pro.offerer_id},
        )
    return answers, left


async def test_two_members_removing_each_other_at_once_leave_one(
    catalog, catalog_engine, issuer, monkeypatch
):
    locked = members.lock

    async def slow_lock(session, offerer):
        # Held a while: without the lock, the other removal would count two members meanwhile.
        await locked(session, offerer)
        await asyncio.sleep(0.2)

    monkeypatch.setattr(members, "lock", slow_lock)
    answers, left = await remove_each_other(catalog, catalog_engine, issuer)
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert [reason_of(error) for error in refused] == ["LAST_MEMBER"], answers
    assert left == 1


async def test_without_the_lock_both_removals_would_pass_leaving_none(
    catalog, catalog_engine, issuer, monkeypatch
):
    # The negative control of the test above: both count the members before either removes.
    both_counting = asyncio.Barrier(2)

    async def no_lock(session, offerer):
        await both_counting.wait()

    monkeypatch.setattr(members, "lock", no_lock)
    answers, left = await remove_each_other(catalog, catalog_engine, issuer)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert left == 0


async def test_an_invitation_accepted_twice_at_once_makes_one_account(
    catalog, catalog_engine, issuer
):
    pro = await make_pro(catalog, issuer)
    _, token = await invite(catalog, catalog_engine, pro, "twice@cinema.test")
    answers = await asyncio.gather(
        *(catalog.members.AcceptInvitation(accept(token)) for _ in range(4)),
        return_exceptions=True,
    )
    accepted = [a for a in answers if isinstance(a, pb.AcceptInvitationResponse)]
    assert len(accepted) == 1, answers
    async with catalog_engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM pro_users WHERE email = 'twice@cinema.test'")
        )
    assert count == 1


async def test_a_token_of_no_account_cannot_invite(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    code, reason, _ = await refusal(
        catalog.members.InviteMember(
            pb.InviteMemberRequest(offerer_id=pro.offerer_id, email="x@cinema.test"),
            metadata=auth(issuer, str(uuid.uuid4()), "admin"),
        )
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN")
