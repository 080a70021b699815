"""AccountService: pro sign-up, sign-in and sessions, offerers, their validation by an admin."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import access, offerers
from catalog.domain.accounts import check_sign_up, normalised_email
from catalog.models import Membership, Offerer, ProUser
from catalog.resources import offerer_pb, user_pb
from passculture.catalog.v1 import account_service_pb2 as pb
from passculture.catalog.v1 import account_service_pb2_grpc as pb_grpc
from passculture.catalog.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib.auth import require_role
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists, Unauthenticated
from pclib.idempotency import idempotent
from pclib.login_throttle import LoginThrottle, client_address
from pclib.passwords import hash_password, verify_password
from pclib.refresh_tokens import RefreshTokens
from pclib.settings import SignInSettings


def _without_password(request: pb.CreateProAccountRequest) -> pb.CreateProAccountRequest:
    """The request as remembered for idempotency: no password is ever stored, even hashed."""
    copy = pb.CreateProAccountRequest()
    copy.CopyFrom(request)
    copy.ClearField("password")
    return copy


class AccountServicer(pb_grpc.AccountServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: SignInSettings
    ) -> None:
        self._sessions = sessions
        self._throttle = LoginThrottle(sessions, settings)
        ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self._refresh_tokens = RefreshTokens(sessions, ttl)

    async def CreateProAccount(
        self, request: pb.CreateProAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateProAccountResponse:
        email = normalised_email(request.email)
        check_sign_up(
            email=email,
            password=request.password,
            first_name=request.first_name,
            last_name=request.last_name,
            offerer_name=request.offerer_name,
            offerer_siren=request.offerer_siren,
        )
        password_hash = await hash_password(request.password)
        try:
            return await idempotent(
                self._sessions,
                context,
                caller="anonymous",
                method="CreateProAccount",
                request=_without_password(request),
                response_type=pb.CreateProAccountResponse,
                create=lambda session: self._create(session, request, email, password_hash),
            )
        except IntegrityError as error:  # a concurrent sign-up won the race
            if violated_constraint(error) == "offerers_siren_key":
                raise AlreadyExists(
                    Reason.OFFERER_EXISTS, "an offerer with this SIREN exists"
                ) from None
            raise AlreadyExists(Reason.EMAIL_TAKEN, "this email already has an account") from None

    async def _create(
        self,
        session: AsyncSession,
        request: pb.CreateProAccountRequest,
        email: str,
        password_hash: str,
    ) -> pb.CreateProAccountResponse:
        if await session.scalar(select(ProUser.id).where(ProUser.email == email)):
            raise AlreadyExists(Reason.EMAIL_TAKEN, "this email already has an account")
        if await session.scalar(select(Offerer.id).where(Offerer.siren == request.offerer_siren)):
            raise AlreadyExists(Reason.OFFERER_EXISTS, "an offerer with this SIREN already exists")
        user = ProUser(
            email=email,
            password_hash=password_hash,
            first_name=request.first_name,
            last_name=request.last_name,
        )
        offerer = Offerer(siren=request.offerer_siren, name=request.offerer_name)
        session.add_all([user, offerer])
        await session.flush()
        session.add(Membership(user_id=user.id, offerer_id=offerer.id))
        return pb.CreateProAccountResponse(user=user_pb(user), offerer=offerer_pb(offerer))

    async def AuthenticateProUser(
        self, request: pb.AuthenticateProUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateProUserResponse:
        email = normalised_email(request.email)
        attempt = await self._throttle.attempt(email, client_address(context), datetime.now(UTC))
        async with self._sessions() as session:
            user = await session.scalar(select(ProUser).where(ProUser.email == email))
        # An unknown email costs a hash too: the answer's time tells nothing.
        verified = await verify_password(user.password_hash if user else None, request.password)
        if user is None or not verified:
            await self._throttle.failed(attempt, datetime.now(UTC))
            raise Unauthenticated(Reason.INVALID_CREDENTIALS, "wrong email or password")
        await self._throttle.succeeded(attempt)
        refresh_token = await self._refresh_tokens.start(str(user.id), datetime.now(UTC))
        return pb.AuthenticateProUserResponse(user=user_pb(user), refresh_token=refresh_token.pb())

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshSessionResponse:
        refresh_token = await self._refresh_tokens.rotate(request.refresh_token, datetime.now(UTC))
        async with self._sessions() as session:
            user = await session.get(ProUser, uuid.UUID(refresh_token.account_id))
        if user is None:
            raise Unauthenticated(common.Reason.INVALID_REFRESH_TOKEN, "the account is gone")
        return pb.RefreshSessionResponse(user=user_pb(user), refresh_token=refresh_token.pb())

    async def RevokeSession(
        self, request: pb.RevokeSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeSessionResponse:
        await self._refresh_tokens.revoke(request.refresh_token, datetime.now(UTC))
        return pb.RevokeSessionResponse()

    async def ListMyOfferers(
        self, request: pb.ListMyOfferersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMyOfferersResponse:
        # A provider's key acts for its one offerer (the counter asks with the key's token).
        principal = require_role(*access.PRO_ROLES, "provider")
        async with self._sessions() as session:
            mine = await session.scalars(
                select(Offerer)
                .where(access.member_of(principal, Offerer.id))
                .order_by(Offerer.name, Offerer.id)
            )
            return pb.ListMyOfferersResponse(offerers=[offerer_pb(o) for o in mine])

    async def ValidateOfferer(
        self, request: pb.ValidateOffererRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValidateOffererResponse:
        principal = require_role("admin")
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            offerers.validate(offerer, datetime.now(UTC))
        return pb.ValidateOffererResponse(offerer=offerer_pb(offerer))
