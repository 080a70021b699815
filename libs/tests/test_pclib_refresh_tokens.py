"""Refresh tokens: rotation, reuse detection, logout, expiry, revoking an account's sessions, and
two simultaneous uses of one token. The clock is the `now` each call is given."""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, select, text

from passculture.common.v1.reasons import Reason
from pclib.errors import Unauthenticated
from pclib.refresh_tokens import RefreshToken, RefreshTokens, refresh_token_tables, revoke_account

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(days=30)
_, TOKENS = refresh_token_tables(MetaData())


@pytest.fixture
def tokens(sign_in_sessions) -> RefreshTokens:
    return RefreshTokens(sign_in_sessions, TTL)


async def refusal(call) -> str:
    """The message of the INVALID_REFRESH_TOKEN refusal the call answers."""
    with pytest.raises(Unauthenticated) as refused:
        await call
    assert refused.value.reason == Reason.INVALID_REFRESH_TOKEN
    return refused.value.message


async def test_a_session_starts_with_a_random_token_of_which_only_a_hash_is_stored(
    tokens, sign_in_sessions
):
    first = await tokens.start("account-1", NOW)
    other = await tokens.start("account-1", NOW)

    assert (first.account_id, first.expires_at) == ("account-1", NOW + TTL)
    assert len(first.token) >= 43 and first.token != other.token  # 256 random bits
    async with sign_in_sessions() as session:
        stored = set((await session.scalars(select(TOKENS.c.token_hash))).all())
        dump = (
            await session.execute(text("SELECT refresh_tokens::text FROM refresh_tokens"))
        ).all()
    assert hashlib.sha256(first.token.encode()).digest() in stored
    assert not any(first.token in row[0] for row in dump)
    assert first.pb().token == first.token
    assert first.pb().expires_at.ToDatetime(tzinfo=UTC) == NOW + TTL


async def test_each_use_answers_a_new_token_that_lasts_the_ttl_from_then(tokens):
    first = await tokens.start("account-1", NOW)
    second = await tokens.rotate(first.token, NOW + timedelta(days=20))
    third = await tokens.rotate(second.token, NOW + timedelta(days=40))

    assert len({first.token, second.token, third.token}) == 3
    assert second == RefreshToken(second.token, "account-1", NOW + timedelta(days=20) + TTL)
    assert third.expires_at == NOW + timedelta(days=40) + TTL


async def test_a_used_token_used_again_revokes_its_whole_session_only(tokens):
    first = await tokens.start("account-1", NOW)
    other_session = await tokens.start("account-1", NOW)
    second = await tokens.rotate(first.token, NOW)

    assert await refusal(tokens.rotate(first.token, NOW)) == (
        "invalid refresh token: already used: the session is revoked"
    )
    # The newest token of the session is refused too; the account's other session is not.
    assert await refusal(tokens.rotate(second.token, NOW)) == "invalid refresh token: revoked"
    assert (await tokens.rotate(other_session.token, NOW)).account_id == "account-1"


async def test_an_expired_or_unknown_token_is_refused(tokens):
    first = await tokens.start("account-1", NOW)
    other = await tokens.start("account-1", NOW)

    assert await refusal(tokens.rotate(first.token, NOW + TTL)) == "invalid refresh token: expired"
    assert await tokens.rotate(other.token, NOW + TTL - timedelta(seconds=1))
    assert await refusal(tokens.rotate("made-up", NOW)) == "invalid refresh token: unknown"
    assert await refusal(tokens.rotate("", NOW)) == "invalid refresh token: unknown"


async def test_logout_ends_the_session_of_any_of_its_tokens(tokens):
    first = await tokens.start("account-1", NOW)
    other_session = await tokens.start("account-1", NOW)
    second = await tokens.rotate(first.token, NOW)

    await tokens.revoke(first.token, NOW)  # a retired token of the session will do

    assert await refusal(tokens.rotate(second.token, NOW)) == "invalid refresh token: revoked"
    assert await tokens.rotate(other_session.token, NOW)
    await tokens.revoke("made-up", NOW)  # nothing to end: no error
    await tokens.revoke(second.token, NOW)  # already ended: no error


async def test_revoking_an_account_ends_every_session_of_that_account(tokens, sign_in_sessions):
    sessions = [await tokens.start("account-1", NOW) for _ in range(2)]
    someone_else = await tokens.start("account-2", NOW)

    async with sign_in_sessions.begin() as session:
        assert await revoke_account(session, "account-1", NOW) == 2
    async with sign_in_sessions.begin() as session:
        assert await revoke_account(session, "account-1", NOW) == 0

    for revoked in sessions:
        assert await refusal(tokens.rotate(revoked.token, NOW)) == "invalid refresh token: revoked"
    assert await tokens.rotate(someone_else.token, NOW)


async def rotate_twice_at_once(tokens: RefreshTokens, first: str, second: str) -> list[object]:
    return await asyncio.gather(
        tokens.rotate(first, NOW), tokens.rotate(second, NOW), return_exceptions=True
    )


async def test_of_two_simultaneous_uses_of_a_token_one_wins_and_the_session_is_revoked(tokens):
    for _ in range(10):
        token = (await tokens.start("account-1", NOW)).token
        answers = await rotate_twice_at_once(tokens, token, token)

        winners = [answer for answer in answers if isinstance(answer, RefreshToken)]
        losers = [answer for answer in answers if isinstance(answer, Unauthenticated)]
        assert (len(winners), len(losers)) == (1, 1), answers
        # The second use is a reuse (OAuth 2.0 Security BCP): the winner's new token is revoked.
        assert await refusal(tokens.rotate(winners[0].token, NOW)) == (
            "invalid refresh token: revoked"
        )


async def test_negative_control_simultaneous_uses_of_two_sessions_both_succeed(tokens):
    """The harness runs the two uses at once and would see two winners."""
    first = await tokens.start("account-1", NOW)
    second = await tokens.start("account-1", NOW)
    answers = await rotate_twice_at_once(tokens, first.token, second.token)
    assert all(isinstance(answer, RefreshToken) for answer in answers), answers
