"""BeneficiaryService: young people's accounts, their sign-in sessions, and the credit an admin
grants them."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import credits
from booking.api.access import require_beneficiary
from booking.api.convert import beneficiary_pb, credit_pb
from booking.credits import me
from booking.domain import credit as credit_rules
from booking.domain.sign_up import SignUp, check_sign_up
from booking.models import Beneficiary, Credit
from passculture.booking.v1 import beneficiary_service_pb2 as pb
from passculture.booking.v1 import beneficiary_service_pb2_grpc as pb_grpc
from passculture.booking.v1 import resources_pb2
from passculture.booking.v1.reasons import Reason
from passculture.common.v1 import reasons as common
from pclib.auth import require_role
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists, NotFound, Unauthenticated
from pclib.france import timezone_for_postal_code
from pclib.idempotency import idempotent
from pclib.login_throttle import LoginThrottle, client_address
from pclib.passwords import hash_password, verify_password
from pclib.refresh_tokens import RefreshTokens
from pclib.settings import SignInSettings


def _without_password(request: pb.SignUpBeneficiaryRequest) -> pb.SignUpBeneficiaryRequest:
    """The request as remembered for idempotency: no password is ever stored, even hashed."""
    copy = pb.SignUpBeneficiaryRequest()
    copy.CopyFrom(request)
    copy.ClearField("password")
    return copy


def _sign_up(request: pb.SignUpBeneficiaryRequest) -> SignUp:
    return check_sign_up(
        email=request.email,
        password=request.password,
        first_name=request.first_name,
        last_name=request.last_name,
        birth_date=request.birth_date,
        phone_number=request.phone_number,
        postal_code=request.postal_code,
        today=datetime.now(UTC).date(),
    )


def _beneficiary_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _not_found() from None


def _not_found() -> NotFound:
    return NotFound(Reason.BENEFICIARY_NOT_FOUND, "beneficiary not found")


def _email_taken() -> AlreadyExists:
    return AlreadyExists(Reason.EMAIL_TAKEN, "this email already has an account")


def _already_granted() -> AlreadyExists:
    return AlreadyExists(Reason.ALREADY_GRANTED, "the credit was already granted")


async def with_credit(session: AsyncSession, beneficiary: Beneficiary) -> resources_pb2.Beneficiary:
    """The beneficiary with its credit and what is left of it (no credit until granted)."""
    credit = await credits.of_beneficiary(session, beneficiary.id)
    if credit is None:
        return beneficiary_pb(beneficiary, None)
    remaining = credits.remaining_cents(credit, datetime.now(UTC))
    return beneficiary_pb(beneficiary, credit_pb(credit, remaining))


class BeneficiaryServicer(pb_grpc.BeneficiaryServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pool: AsyncConnectionPool,
        settings: SignInSettings,
    ) -> None:
        self._sessions = sessions
        self._pool = pool
        self._throttle = LoginThrottle(sessions, settings)
        ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self._refresh_tokens = RefreshTokens(sessions, ttl)

    async def SignUpBeneficiary(
        self, request: pb.SignUpBeneficiaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignUpBeneficiaryResponse:
        sign_up = _sign_up(request)
        password_hash = await hash_password(request.password)
        try:
            return await idempotent(
                self._sessions,
                context,
                caller="anonymous",
                method="SignUpBeneficiary",
                request=_without_password(request),
                response_type=pb.SignUpBeneficiaryResponse,
                create=lambda session: self._create(session, sign_up, password_hash),
            )
        except IntegrityError as error:  # a concurrent sign-up with this email won the race
            if violated_constraint(error) == "beneficiaries_email_key":
                raise _email_taken() from None
            raise

    async def _create(
        self, session: AsyncSession, sign_up: SignUp, password_hash: str
    ) -> pb.SignUpBeneficiaryResponse:
        if await session.scalar(select(Beneficiary.id).where(Beneficiary.email == sign_up.email)):
            raise _email_taken()
        beneficiary = Beneficiary(
            email=sign_up.email,
            password_hash=password_hash,
            first_name=sign_up.first_name,
            last_name=sign_up.last_name,
            birth_date=sign_up.birth_date,
            phone_number=sign_up.phone_number,
            postal_code=sign_up.postal_code,
            timezone=timezone_for_postal_code(sign_up.postal_code),
        )
        session.add(beneficiary)
        await session.flush()
        return pb.SignUpBeneficiaryResponse(beneficiary=beneficiary_pb(beneficiary, None))

    async def AuthenticateBeneficiary(
        self, request: pb.AuthenticateBeneficiaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateBeneficiaryResponse:
        email = request.email.strip().lower()
        attempt = await self._throttle.attempt(email, client_address(context), datetime.now(UTC))
        async with self._sessions() as session:
            beneficiary = await session.scalar(
                select(Beneficiary).where(Beneficiary.email == email)
            )
        # An unknown email is checked against a dummy hash: both answers take as long.
        password_hash = beneficiary.password_hash if beneficiary else None
        verified = await verify_password(password_hash, request.password)
        if beneficiary is None or not verified:
            await self._throttle.failed(attempt, datetime.now(UTC))
            raise Unauthenticated(Reason.INVALID_CREDENTIALS, "wrong email or password")
        await self._throttle.succeeded(attempt)
        refresh_token = await self._refresh_tokens.start(str(beneficiary.id), datetime.now(UTC))
        async with self._sessions() as session:
            return pb.AuthenticateBeneficiaryResponse(
                beneficiary=await with_credit(session, beneficiary),
                refresh_token=refresh_token.pb(),
            )

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshSessionResponse:
        refresh_token = await self._refresh_tokens.rotate(request.refresh_token, datetime.now(UTC))
        async with self._sessions() as session:
            beneficiary = await session.get(Beneficiary, uuid.UUID(refresh_token.account_id))
            if beneficiary is None:
                raise Unauthenticated(common.Reason.INVALID_REFRESH_TOKEN, "the account is gone")
            return pb.RefreshSessionResponse(
                beneficiary=await with_credit(session, beneficiary),
                refresh_token=refresh_token.pb(),
            )

    async def RevokeSession(
        self, request: pb.RevokeSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeSessionResponse:
        await self._refresh_tokens.revoke(request.refresh_token, datetime.now(UTC))
        return pb.RevokeSessionResponse()

    async def GetMe(
        self, request: pb.GetMeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMeResponse:
        beneficiary_id = require_beneficiary()
        async with self._pool.connection() as conn:
            found = await me(conn, beneficiary_id)
        if found is None:
            raise _not_found()
        beneficiary, credit = found
        if credit is None:
            return pb.GetMeResponse(beneficiary=beneficiary_pb(beneficiary, None))
        remaining = credits.remaining_cents(credit, datetime.now(UTC))
        return pb.GetMeResponse(
            beneficiary=beneficiary_pb(beneficiary, credit_pb(credit, remaining))
        )

    async def GrantCredit(
        self, request: pb.GrantCreditRequest, context: grpc.aio.ServicerContext
    ) -> pb.GrantCreditResponse:
        principal = require_role("admin")
        beneficiary_id = _beneficiary_id(request.beneficiary_id)
        now = datetime.now(UTC)
        try:
            async with self._sessions.begin() as session:
                credit = await self._grant(session, beneficiary_id, now, principal.subject)
        except IntegrityError as error:  # a concurrent grant won the race
            if violated_constraint(error) == "credits_beneficiary_id_key":
                raise _already_granted() from None
            raise
        # Nothing can have been booked on a credit that did not exist.
        return pb.GrantCreditResponse(credit=credit_pb(credit, credit.initial_cents))

    async def _grant(
        self, session: AsyncSession, beneficiary_id: uuid.UUID, now: datetime, admin: str
    ) -> Credit:
        beneficiary = await session.get(Beneficiary, beneficiary_id)
        if beneficiary is None:
            raise _not_found()
        if await credits.of_beneficiary(session, beneficiary_id) is not None:
            raise _already_granted()
        credit_rules.check_eligible(beneficiary.birth_date, now, beneficiary.timezone)
        credit = Credit(
            beneficiary_id=beneficiary_id,
            initial_cents=credit_rules.CREDIT_CENTS,
            granted_at=now,
            expires_at=credit_rules.expiry(now),
            granted_by=admin,
        )
        session.add(credit)
        return credit
