"""AccountService: pro sign-up and authentication, offerers, their validation by an admin."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalog import access
from catalog.api.convert import offerer_pb, user_pb
from catalog.domain.identifiers import is_valid_siren
from catalog.models import Membership, Offerer, ProUser
from passculture.catalog.v1 import account_service_pb2 as pb
from passculture.catalog.v1 import account_service_pb2_grpc as pb_grpc
from pclib.auth import require_role
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists, InvalidArgument, Unauthenticated
from pclib.idempotency import idempotent
from pclib.passwords import hash_password, verify_password

MIN_PASSWORD_LENGTH = 8


def _without_password(request: pb.CreateProAccountRequest) -> pb.CreateProAccountRequest:
    """The request as remembered for idempotency: no password is ever stored, even hashed."""
    copy = pb.CreateProAccountRequest()
    copy.CopyFrom(request)
    copy.ClearField("password")
    return copy


class AccountServicer(pb_grpc.AccountServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def CreateProAccount(self, request, context):
        email = request.email.strip().lower()
        if "@" not in email:
            raise InvalidArgument("INVALID_EMAIL", "email is not valid")
        if len(request.password) < MIN_PASSWORD_LENGTH:
            raise InvalidArgument("PASSWORD_TOO_SHORT", "password needs 8 characters or more")
        for field in ("first_name", "last_name", "offerer_name"):
            if not getattr(request, field).strip():
                raise InvalidArgument(f"INVALID_{field.upper()}", f"{field} is required")
        if not is_valid_siren(request.offerer_siren):
            raise InvalidArgument("INVALID_SIREN", "SIREN must be 9 digits with a valid checksum")
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
                raise AlreadyExists("OFFERER_EXISTS", "an offerer with this SIREN exists") from None
            raise AlreadyExists("EMAIL_TAKEN", "this email already has an account") from None

    async def _create(self, session, request, email: str, password_hash: str):
        if await session.scalar(select(ProUser.id).where(ProUser.email == email)):
            raise AlreadyExists("EMAIL_TAKEN", "this email already has an account")
        if await session.scalar(select(Offerer.id).where(Offerer.siren == request.offerer_siren)):
            raise AlreadyExists("OFFERER_EXISTS", "an offerer with this SIREN already exists")
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

    async def AuthenticateProUser(self, request, context):
        async with self._sessions() as session:
            user = await session.scalar(
                select(ProUser).where(ProUser.email == request.email.strip().lower())
            )
        if not await verify_password(user.password_hash if user else None, request.password):
            raise Unauthenticated("INVALID_CREDENTIALS", "wrong email or password")
        return pb.AuthenticateProUserResponse(user=user_pb(user))

    async def ListMyOfferers(self, request, context):
        principal = access.require_pro()
        async with self._sessions() as session:
            offerers = await session.scalars(
                select(Offerer)
                .where(access.member_of(principal, Offerer.id))
                .order_by(Offerer.name, Offerer.id)
            )
            return pb.ListMyOfferersResponse(offerers=[offerer_pb(o) for o in offerers])

    async def ValidateOfferer(self, request, context):
        principal = require_role("admin")
        async with self._sessions.begin() as session:
            offerer = await access.get_offerer(session, principal, request.offerer_id)
            if offerer.status != "VALIDATED":
                offerer.status = "VALIDATED"
                offerer.validated_at = datetime.now(UTC)
        return pb.ValidateOffererResponse(offerer=offerer_pb(offerer))
