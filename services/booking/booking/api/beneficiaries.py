"""BeneficiaryService: young people's accounts and the credit an admin grants them."""

import re
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.api.convert import beneficiary_pb, credit_pb
from booking.domain import credit as credit_rules
from booking.models import Beneficiary, Credit
from booking.saga import remaining_cents
from passculture.booking.v1 import beneficiary_service_pb2 as pb
from passculture.booking.v1 import beneficiary_service_pb2_grpc as pb_grpc
from passculture.booking.v1 import resources_pb2
from pclib.auth import require_role
from pclib.db import violated_constraint
from pclib.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from pclib.france import timezone_for_postal_code
from pclib.idempotency import idempotent
from pclib.passwords import hash_password, verify_password

MIN_PASSWORD_LENGTH = 8
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def require_beneficiary() -> uuid.UUID:
    """The calling beneficiary's id."""
    principal = require_role("beneficiary")
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Unauthenticated("INVALID_TOKEN", "the token's subject is not a beneficiary") from None


def _without_password(request: pb.SignUpBeneficiaryRequest) -> pb.SignUpBeneficiaryRequest:
    """The request as remembered for idempotency: no password is ever stored, even hashed."""
    copy = pb.SignUpBeneficiaryRequest()
    copy.CopyFrom(request)
    copy.ClearField("password")
    return copy


def _birth_date(value: str) -> date:
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        born = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("INVALID_BIRTH_DATE", "birth_date must be YYYY-MM-DD") from None
    if born > datetime.now(UTC).date():
        raise InvalidArgument("INVALID_BIRTH_DATE", "birth_date is in the future")
    return born


def _check_sign_up(request: pb.SignUpBeneficiaryRequest) -> tuple[str, date]:
    """The normalised email and the birth date of a valid sign-up."""
    email = request.email.strip().lower()
    if "@" not in email:
        raise InvalidArgument("INVALID_EMAIL", "email is not valid")
    if len(request.password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument("PASSWORD_TOO_SHORT", "password needs 8 characters or more")
    for field in ("first_name", "last_name"):
        if not getattr(request, field).strip():
            raise InvalidArgument(f"INVALID_{field.upper()}", f"{field} is required")
    return email, _birth_date(request.birth_date)


def _beneficiary_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("BENEFICIARY_NOT_FOUND", "beneficiary not found") from None


def _email_taken() -> AlreadyExists:
    return AlreadyExists("EMAIL_TAKEN", "this email already has an account")


def _already_granted() -> AlreadyExists:
    return AlreadyExists("ALREADY_GRANTED", "the credit was already granted")


async def with_credit(session: AsyncSession, beneficiary: Beneficiary) -> resources_pb2.Beneficiary:
    """The beneficiary with its credit and what is left of it (no credit until granted)."""
    credit = await session.scalar(select(Credit).where(Credit.beneficiary_id == beneficiary.id))
    if credit is None:
        return beneficiary_pb(beneficiary, None)
    remaining = await remaining_cents(session, credit, datetime.now(UTC))
    return beneficiary_pb(beneficiary, credit_pb(credit, remaining))


class BeneficiaryServicer(pb_grpc.BeneficiaryServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def SignUpBeneficiary(self, request, context):
        email, birth_date = _check_sign_up(request)
        password_hash = await hash_password(request.password)
        try:
            return await idempotent(
                self._sessions,
                context,
                caller="anonymous",
                method="SignUpBeneficiary",
                request=_without_password(request),
                response_type=pb.SignUpBeneficiaryResponse,
                create=lambda session: self._sign_up(
                    session, request, email, birth_date, password_hash
                ),
            )
        except IntegrityError as error:  # a concurrent sign-up with this email won the race
            if violated_constraint(error) == "beneficiaries_email_key":
                raise _email_taken() from None
            raise

    async def _sign_up(self, session, request, email: str, birth_date: date, password_hash: str):
        if await session.scalar(select(Beneficiary.id).where(Beneficiary.email == email)):
            raise _email_taken()
        postal_code = request.postal_code.strip()
        beneficiary = Beneficiary(
            email=email,
            password_hash=password_hash,
            first_name=request.first_name.strip(),
            last_name=request.last_name.strip(),
            birth_date=birth_date,
            phone_number=request.phone_number.strip(),
            postal_code=postal_code,
            timezone=timezone_for_postal_code(postal_code),
        )
        session.add(beneficiary)
        await session.flush()
        return pb.SignUpBeneficiaryResponse(beneficiary=beneficiary_pb(beneficiary, None))

    async def AuthenticateBeneficiary(self, request, context):
        async with self._sessions() as session:
            beneficiary = await session.scalar(
                select(Beneficiary).where(Beneficiary.email == request.email.strip().lower())
            )
        # An unknown email is checked against a dummy hash: both answers take as long.
        password_hash = beneficiary.password_hash if beneficiary else None
        if not await verify_password(password_hash, request.password):
            raise Unauthenticated("INVALID_CREDENTIALS", "wrong email or password")
        async with self._sessions() as session:
            return pb.AuthenticateBeneficiaryResponse(
                beneficiary=await with_credit(session, beneficiary)
            )

    async def GetMe(self, request, context):
        beneficiary_id = require_beneficiary()
        async with self._sessions() as session:
            beneficiary = await session.get(Beneficiary, beneficiary_id)
            if beneficiary is None:
                raise NotFound("BENEFICIARY_NOT_FOUND", "beneficiary not found")
            return pb.GetMeResponse(beneficiary=await with_credit(session, beneficiary))

    async def GrantCredit(self, request, context):
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
            raise NotFound("BENEFICIARY_NOT_FOUND", "beneficiary not found")
        if await session.scalar(select(Credit.id).where(Credit.beneficiary_id == beneficiary_id)):
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
