"""Young people's accounts and their credit, through the booking service's gRPC API."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from passculture.booking.v1 import beneficiary_service_pb2 as pb
from tests.support.booking_helpers import birth_date_for_age, make_beneficiary, with_key
from tests.support.catalog_helpers import auth, reason_of

PASSWORD = "correct horse battery"


def sign_up_request(**fields) -> pb.SignUpBeneficiaryRequest:
    values = {
        "email": f"Young-{uuid.uuid4().hex[:8]}@Example.com",
        "password": PASSWORD,
        "first_name": "Camille",
        "last_name": "Jeune",
        "birth_date": birth_date_for_age(18).isoformat(),
        "phone_number": "+33600000000",
        "postal_code": "75011",
        **fields,
    }
    return pb.SignUpBeneficiaryRequest(**values)


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), reason_of(failure.value)


def admin(issuer) -> tuple:
    return auth(issuer, str(uuid.uuid4()), "admin")


async def grant(booking, issuer, beneficiary_id: str) -> pb.GrantCreditResponse:
    return await booking.beneficiaries.GrantCredit(
        pb.GrantCreditRequest(beneficiary_id=beneficiary_id), metadata=admin(issuer)
    )


async def sign_up(booking, **fields) -> pb.SignUpBeneficiaryResponse:
    return await booking.beneficiaries.SignUpBeneficiary(sign_up_request(**fields))


# --- sign-up -------------------------------------------------------------------------------


async def test_sign_up(booking, booking_engine):
    request = sign_up_request(postal_code="97110")
    signed = (await booking.beneficiaries.SignUpBeneficiary(request)).beneficiary
    assert signed.email == request.email.lower()
    assert (signed.first_name, signed.last_name) == ("Camille", "Jeune")
    assert signed.birth_date == request.birth_date
    assert (signed.phone_number, signed.postal_code) == ("+33600000000", "97110")
    assert not signed.HasField("credit")
    async with booking_engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT timezone, password_hash FROM beneficiaries WHERE id = :id"),
                {"id": signed.id},
            )
        ).one()
    assert stored.timezone == "America/Guadeloupe"
    assert stored.password_hash.startswith("$argon2id$")


async def test_the_timezone_defaults_to_paris(booking, booking_engine):
    signed = (await sign_up(booking, postal_code="")).beneficiary
    async with booking_engine.connect() as conn:
        timezone = await conn.scalar(
            text("SELECT timezone FROM beneficiaries WHERE id = :id"), {"id": signed.id}
        )
    assert timezone == "Europe/Paris"


async def test_an_email_has_one_account_whatever_its_case(booking):
    await sign_up(booking, email="Camille@Example.com")
    assert await refused(sign_up(booking, email=" camille@example.COM ")) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "EMAIL_TAKEN",
    )


async def test_concurrent_sign_ups_with_one_email(booking):
    answers = await asyncio.gather(
        *(sign_up(booking, email="twin@example.com") for _ in range(5)), return_exceptions=True
    )
    errors = [answer for answer in answers if isinstance(answer, Exception)]
    assert len(errors) == 4
    assert {reason_of(error) for error in errors} == {"EMAIL_TAKEN"}


INVALID_SIGN_UPS = [
    ({"password": "short"}, "PASSWORD_TOO_SHORT"),
    ({"email": "not-an-email"}, "INVALID_EMAIL"),
    ({"first_name": " "}, "INVALID_FIRST_NAME"),
    ({"last_name": ""}, "INVALID_LAST_NAME"),
    ({"birth_date": ""}, "INVALID_BIRTH_DATE"),
    ({"birth_date": "10/03/2008"}, "INVALID_BIRTH_DATE"),
    ({"birth_date": "2008-02-30"}, "INVALID_BIRTH_DATE"),
    ({"birth_date": "20080310"}, "INVALID_BIRTH_DATE"),
    ({"birth_date": "2999-01-01"}, "INVALID_BIRTH_DATE"),
]


async def test_invalid_sign_ups(booking):
    for fields, reason in INVALID_SIGN_UPS:
        assert await refused(sign_up(booking, **fields)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
        ), fields


async def test_sign_up_is_idempotent_and_never_stores_the_password(booking, booking_engine):
    request = sign_up_request()
    metadata = with_key((), "signup-1")
    first = await booking.beneficiaries.SignUpBeneficiary(request, metadata=metadata)
    again = await booking.beneficiaries.SignUpBeneficiary(request, metadata=metadata)
    assert again == first
    other = sign_up_request()
    assert await refused(booking.beneficiaries.SignUpBeneficiary(other, metadata=metadata)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_KEY_REUSED",
    )
    async with booking_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT * FROM idempotency_keys"))).all()
    assert len(stored) == 1
    assert PASSWORD.encode() not in stored[0].response
    assert b"argon2" not in stored[0].response


# --- authentication ------------------------------------------------------------------------


async def test_authenticate(booking):
    signed = (await sign_up(booking, email="Auth@Example.com")).beneficiary
    reply = await booking.beneficiaries.AuthenticateBeneficiary(
        pb.AuthenticateBeneficiaryRequest(email=" AUTH@example.com", password=PASSWORD)
    )
    assert reply.beneficiary.id == signed.id


async def test_invalid_credentials(booking):
    await sign_up(booking, email="auth@example.com")
    for email, password in (
        ("auth@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("", ""),
    ):
        request = pb.AuthenticateBeneficiaryRequest(email=email, password=password)
        assert await refused(booking.beneficiaries.AuthenticateBeneficiary(request)) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CREDENTIALS",
        ), email


# --- me and the credit ---------------------------------------------------------------------


async def test_me_before_and_after_the_credit(booking, issuer):
    young = await make_beneficiary(booking, issuer, credit=False)
    me = (await booking.beneficiaries.GetMe(pb.GetMeRequest(), metadata=young.metadata)).beneficiary
    assert (me.id, me.email) == (young.id, young.email)
    assert not me.HasField("credit")

    before = datetime.now(UTC)
    granted = (await grant(booking, issuer, young.id)).credit
    assert (granted.initial_cents, granted.remaining_cents) == (30_000, 30_000)
    expires_at = granted.expires_at.ToDatetime(tzinfo=UTC)
    assert before.replace(year=before.year + 2) - timedelta(seconds=1) <= expires_at
    assert expires_at <= datetime.now(UTC).replace(year=before.year + 2)

    me = (await booking.beneficiaries.GetMe(pb.GetMeRequest(), metadata=young.metadata)).beneficiary
    assert me.credit == granted


@pytest.mark.parametrize("age", [17, 19])
async def test_the_credit_is_for_18_year_olds_only(booking, issuer, age):
    young = await make_beneficiary(booking, issuer, age=age, credit=False)
    assert await refused(grant(booking, issuer, young.id)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "NOT_ELIGIBLE",
    )


async def test_the_credit_is_granted_once(booking, issuer):
    young = await make_beneficiary(booking, issuer)
    assert await refused(grant(booking, issuer, young.id)) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "ALREADY_GRANTED",
    )


async def test_concurrent_grants_grant_once(booking, issuer):
    young = await make_beneficiary(booking, issuer, credit=False)
    answers = await asyncio.gather(
        *(grant(booking, issuer, young.id) for _ in range(5)), return_exceptions=True
    )
    errors = [answer for answer in answers if isinstance(answer, Exception)]
    assert len(errors) == 4
    assert {reason_of(error) for error in errors} == {"ALREADY_GRANTED"}


async def test_grant_to_nobody(booking, issuer):
    for beneficiary_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert await refused(grant(booking, issuer, beneficiary_id)) == (
            grpc.StatusCode.NOT_FOUND,
            "BENEFICIARY_NOT_FOUND",
        )
