"""A pro's sessions through the AccountService: signing in starts one, RefreshSession rotates its
token, RevokeSession ends it, a new admin password ends the admin's; wrong passwords are
throttled per account and per client address."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from catalog.__main__ import create_admin
from catalog.settings import CatalogSettings
from passculture.catalog.v1 import account_service_pb2 as pb
from pclib.login_throttle import CLIENT_ADDRESS_KEY
from tests.support.catalog_helpers import new_siren, refusal, running_catalog

PASSWORD = "correct horse battery"


async def sign_up(catalog) -> pb.CreateProAccountResponse:
    return await catalog.accounts.CreateProAccount(
        pb.CreateProAccountRequest(
            email=f"pro-{uuid.uuid4().hex[:8]}@cinema.test",
            password=PASSWORD,
            first_name="Paula",
            last_name="Pro",
            offerer_siren=new_siren(),
            offerer_name="Cinéma Lumière",
        )
    )


async def sign_in(catalog, email: str, password: str = PASSWORD, address: str = "") -> str:
    """The refresh token of a new session."""
    metadata = ((CLIENT_ADDRESS_KEY, address),) if address else ()
    reply = await catalog.accounts.AuthenticateProUser(
        pb.AuthenticateProUserRequest(email=email, password=password), metadata=metadata
    )
    return reply.refresh_token.token


async def refresh(catalog, token: str) -> pb.RefreshSessionResponse:
    return await catalog.accounts.RefreshSession(pb.RefreshSessionRequest(refresh_token=token))


INVALID_REFRESH_TOKEN = (grpc.StatusCode.UNAUTHENTICATED, "INVALID_REFRESH_TOKEN", {})


async def test_signing_in_starts_a_week_long_session_whose_token_rotates(catalog):
    account = await sign_up(catalog)
    signed = await catalog.accounts.AuthenticateProUser(
        pb.AuthenticateProUserRequest(email=account.user.email, password=PASSWORD)
    )
    expires_at = signed.refresh_token.expires_at.ToDatetime(tzinfo=UTC)
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)

    refreshed = await refresh(catalog, signed.refresh_token.token)
    assert refreshed.user == account.user
    assert refreshed.refresh_token.token != signed.refresh_token.token

    # The first token again: the session ends, its newest token with it.
    assert await refusal(refresh(catalog, signed.refresh_token.token)) == INVALID_REFRESH_TOKEN
    assert await refusal(refresh(catalog, refreshed.refresh_token.token)) == INVALID_REFRESH_TOKEN


async def test_revoking_a_session_ends_it(catalog):
    account = await sign_up(catalog)
    token = await sign_in(catalog, account.user.email)
    other_session = await sign_in(catalog, account.user.email)

    await catalog.accounts.RevokeSession(pb.RevokeSessionRequest(refresh_token=token))
    await catalog.accounts.RevokeSession(pb.RevokeSessionRequest(refresh_token="made-up"))

    assert await refusal(refresh(catalog, token)) == INVALID_REFRESH_TOKEN
    assert (await refresh(catalog, other_session)).user.id == account.user.id


async def test_a_new_admin_password_ends_the_admins_sessions(catalog, catalog_db_url):
    settings = CatalogSettings(
        database_url=catalog_db_url, admin_email="admin@x.test", admin_password="first password"
    )
    await create_admin(settings)
    token = await sign_in(catalog, "admin@x.test", "first password")

    await create_admin(settings)  # the same password again: the session goes on
    token = (await refresh(catalog, token)).refresh_token.token

    await create_admin(settings.model_copy(update={"admin_password": "second password"}))
    assert await refusal(refresh(catalog, token)) == INVALID_REFRESH_TOKEN
    assert (await refresh(catalog, await sign_in(catalog, "admin@x.test", "second password"))).user


@pytest.fixture
async def strict_catalog(catalog_engine, verifier):
    """A catalog that lets an account try 2 wrong passwords, and an address 3."""
    settings = CatalogSettings(login_failures_per_account=2, login_failures_per_address=3)
    async with running_catalog(catalog_engine, verifier, settings) as (_, stubs):
        yield stubs


TOO_MANY_ATTEMPTS = (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS")


async def test_wrong_passwords_are_throttled_known_email_or_not(strict_catalog):
    account = await sign_up(strict_catalog)
    for email in (account.user.email, "nobody@x.test"):
        for _ in range(2):
            wrong = sign_in(strict_catalog, email, "wrong password")
            assert (await refusal(wrong))[:2] == (
                grpc.StatusCode.UNAUTHENTICATED,
                "INVALID_CREDENTIALS",
            )
        code, reason, metadata = await refusal(sign_in(strict_catalog, email))
        assert ((code, reason), metadata) == (TOO_MANY_ATTEMPTS, {"retry_after_seconds": "1"})


async def test_wrong_passwords_are_throttled_per_client_address(strict_catalog):
    account = await sign_up(strict_catalog)
    for number in range(3):
        wrong = sign_in(strict_catalog, f"guess-{number}@x.test", "wrong", "203.0.113.7")
        assert (await refusal(wrong))[1] == "INVALID_CREDENTIALS"

    right = sign_in(strict_catalog, account.user.email, PASSWORD, "203.0.113.7")
    assert (await refusal(right))[:2] == TOO_MANY_ATTEMPTS
    # Negative control: from another address, the right password works.
    assert await sign_in(strict_catalog, account.user.email, PASSWORD, "198.51.100.1")
