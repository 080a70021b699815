"""A young person's sessions through the BeneficiaryService: signing in starts one (30 days),
RefreshSession rotates its token, RevokeSession ends it; wrong passwords are throttled, an
unknown email like a known one."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from passculture.booking.v1 import beneficiary_service_pb2 as pb
from tests.support.booking_helpers import make_beneficiary, running_booking
from tests.support.catalog_helpers import refusal

PASSWORD = "correct horse battery"


async def sign_in(
    booking, email: str, password: str = PASSWORD
) -> pb.AuthenticateBeneficiaryResponse:
    return await booking.beneficiaries.AuthenticateBeneficiary(
        pb.AuthenticateBeneficiaryRequest(email=email, password=password)
    )


async def refresh(booking, token: str) -> pb.RefreshSessionResponse:
    return await booking.beneficiaries.RefreshSession(pb.RefreshSessionRequest(refresh_token=token))


INVALID_REFRESH_TOKEN = (grpc.StatusCode.UNAUTHENTICATED, "INVALID_REFRESH_TOKEN", {})


async def test_signing_in_starts_a_30_day_session_whose_token_rotates(booking, issuer):
    young = await make_beneficiary(booking, issuer)
    signed = await sign_in(booking, young.email)
    expires_at = signed.refresh_token.expires_at.ToDatetime(tzinfo=UTC)
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)

    refreshed = await refresh(booking, signed.refresh_token.token)
    assert refreshed.beneficiary == signed.beneficiary  # with the credit
    assert refreshed.refresh_token.token != signed.refresh_token.token

    assert await refusal(refresh(booking, signed.refresh_token.token)) == INVALID_REFRESH_TOKEN
    assert await refusal(refresh(booking, refreshed.refresh_token.token)) == INVALID_REFRESH_TOKEN


async def test_revoking_a_session_ends_it(booking, issuer):
    young = await make_beneficiary(booking, issuer)
    token = (await sign_in(booking, young.email)).refresh_token.token

    await booking.beneficiaries.RevokeSession(pb.RevokeSessionRequest(refresh_token=token))

    assert await refusal(refresh(booking, token)) == INVALID_REFRESH_TOKEN


@pytest.fixture
async def strict_booking(booking_engine, verifier, booking_settings):
    """The booking service letting an account try 2 wrong passwords."""
    settings = booking_settings.model_copy(update={"login_failures_per_account": 2})
    async with running_booking(booking_engine, verifier, settings) as (_, stubs):
        yield stubs


async def test_wrong_passwords_are_throttled_known_email_or_not(strict_booking, issuer):
    young = await make_beneficiary(strict_booking, issuer)
    for email in (young.email, "nobody@example.com"):
        for _ in range(2):
            assert (await refusal(sign_in(strict_booking, email, "wrong password")))[1] == (
                "INVALID_CREDENTIALS"
            )
        assert await refusal(sign_in(strict_booking, email)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_ATTEMPTS",
            {"retry_after_seconds": "1"},
        )
