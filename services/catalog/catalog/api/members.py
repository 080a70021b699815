"""MemberService: an offerer's members, and the invitations that make new ones."""

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, events, members
from catalog.domain.accounts import check_account_fields, normalised_email
from catalog.ids import parse_id
from catalog.models import Membership, ProUser
from catalog.resources import invitation_pb, member_pb, offerer_pb, user_pb
from passculture.catalog.v1 import member_service_pb2 as pb
from passculture.catalog.v1 import member_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib import pagination
from pclib.errors import AlreadyExists, Unauthenticated
from pclib.login_throttle import LoginThrottle, client_address
from pclib.passwords import hash_password, verify_password
from pclib.settings import SignInSettings


class MemberServicer(pb_grpc.MemberServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: SignInSettings
    ) -> None:
        self._sessions = sessions
        self._throttle = LoginThrottle(sessions, settings)

    async def InviteMember(
        self, request: pb.InviteMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.InviteMemberResponse:
        principal = access.require_pro()
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            inviter = await session.get(ProUser, access.user_id(principal))
            if inviter is None:
                raise Unauthenticated(
                    common.Reason.INVALID_TOKEN, "the token's subject is not a pro account"
                )
            invitation, event = await members.invite(
                session, offerer, inviter, normalised_email(request.email), datetime.now(UTC)
            )
            await events.record(session, event)
        return pb.InviteMemberResponse(invitation=invitation_pb(invitation))

    async def AcceptInvitation(
        self, request: pb.AcceptInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptInvitationResponse:
        async with self._sessions() as session:
            invitation = await members.find_invitation(session, request.token)
            existing = await session.scalar(
                select(ProUser).where(ProUser.email == invitation.email)
            )
        account: ProUser | members.NewAccount
        if existing is not None:
            await self._check_password(existing, request.password, context)
            account = existing
        else:
            check_account_fields(
                password=request.password,
                first_name=request.first_name,
                last_name=request.last_name,
            )
            account = members.NewAccount(
                await hash_password(request.password), request.first_name, request.last_name
            )
        try:
            async with self._sessions.begin() as session:
                if existing is not None:
                    account = await session.get_one(ProUser, existing.id)
                user, offerer = await members.accept(
                    session, request.token, account, datetime.now(UTC)
                )
        except IntegrityError:  # the email signed up meanwhile
            raise AlreadyExists(Reason.EMAIL_TAKEN, "this email already has an account") from None
        return pb.AcceptInvitationResponse(
            user=user_pb(user), offerer=offerer_pb(offerer), created_account=existing is None
        )

    async def _check_password(
        self, user: ProUser, password: str, context: grpc.aio.ServicerContext
    ) -> None:
        """The existing account's password, throttled as a sign-in."""
        now = datetime.now(UTC)
        attempt = await self._throttle.attempt(user.email, client_address(context), now)
        if not await verify_password(user.password_hash, password):
            await self._throttle.failed(attempt, datetime.now(UTC))
            raise Unauthenticated(Reason.INVALID_CREDENTIALS, "wrong email or password")
        await self._throttle.succeeded(attempt)

    async def ListMembers(
        self, request: pb.ListMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMembersResponse:
        principal = access.require_pro()
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            rows = (
                await session.execute(
                    select(ProUser, Membership.created_at)
                    .join(Membership, Membership.user_id == ProUser.id)
                    .where(Membership.offerer_id == offerer.id)
                    .order_by(Membership.created_at, ProUser.id)
                    .offset(offset)
                    .limit(size + 1)
                )
            ).all()
        return pb.ListMembersResponse(
            members=[member_pb(user, joined_at) for user, joined_at in rows[:size]],
            next_page_token=pagination.next_token(offset, size, len(rows)),
        )

    async def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveMemberResponse:
        principal = access.require_pro()
        member_id: uuid.UUID = parse_id(request.user_id, Reason.MEMBER_NOT_FOUND)
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            await members.remove(session, offerer, member_id)
        return pb.RemoveMemberResponse()
