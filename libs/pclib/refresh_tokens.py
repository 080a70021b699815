"""Sign-in sessions: refresh tokens rotated on every use, with reuse detection (OAuth 2.0
Security BCP, RFC 9700 §4.14.2).

A sign-in starts a session (a "family" of refresh tokens) bound to the account. A refresh token
is 256 random bits, handed out once; only its SHA-256 is stored. Using it retires it and answers
the family's next token, valid for the TTL from then on: a session lasts as long as it is used
at least once per TTL. A retired token used again means that it leaked, or that two clients
raced with it: the whole family is revoked, its newest token with it, and the account must sign
in again. Of two simultaneous uses of one token exactly one succeeds, and the family is revoked
(the second is a reuse): rotation locks the token's row and its family's.

Logout revokes the family of the token it is given; a password change or an account's block
revokes every family of the account (`revoke_account`, in the caller's transaction). Access
tokens already issued stay valid until they expire (they are checked without any state).
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    LargeBinary,
    MetaData,
    Row,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from passculture.common.v1.reasons import Reason
from passculture.common.v1.sessions_pb2 import RefreshToken as RefreshTokenPb
from pclib.errors import Unauthenticated
from pclib.timestamps import timestamp

TOKEN_BYTES = 32


def refresh_token_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The families (sessions) and their tokens."""
    families = Table(
        "refresh_token_families",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("account_id", Text, nullable=False, index=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        # The newest token's expiry: past it, the family can go (pclib.retention).
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
    )
    tokens = Table(
        "refresh_tokens",
        metadata,
        Column("token_hash", LargeBinary, primary_key=True),
        Column(
            "family_id",
            UUID(as_uuid=True),
            ForeignKey("refresh_token_families.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("retired_at", DateTime(timezone=True)),
    )
    return families, tokens


_families, _tokens = refresh_token_tables(MetaData())


@dataclass(frozen=True)
class RefreshToken:
    """A token just handed out (the only time it exists in clear), and its account."""

    token: str
    account_id: str
    expires_at: datetime

    def pb(self) -> RefreshTokenPb:
        return RefreshTokenPb(token=self.token, expires_at=timestamp(self.expires_at))


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


REUSED = "already used: the session is revoked"


def _refusal(found: Row | None, now: datetime) -> str | None:
    """Why this token (with its family) may not be used now; None when it may."""
    if found is None:
        return "unknown"
    if found.revoked_at is not None:
        return "revoked"
    if found.retired_at is not None:
        return REUSED
    if found.expires_at <= now:
        return "expired"
    return None


class RefreshTokens:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: timedelta) -> None:
        self._sessions = sessions
        self._ttl = ttl

    async def start(self, account_id: str, now: datetime) -> RefreshToken:
        """A new session of the account: its first refresh token."""
        family_id = uuid.uuid4()
        async with self._sessions.begin() as session:
            await session.execute(
                _families.insert().values(
                    id=family_id, account_id=account_id, created_at=now, expires_at=now + self._ttl
                )
            )
            return await self._issue(session, family_id, account_id, now)

    async def rotate(self, token: str, now: datetime) -> RefreshToken:
        """Retires `token` and answers its family's next one; INVALID_REFRESH_TOKEN if it is
        unknown, expired, revoked or retired (then its family is revoked)."""
        async with self._sessions.begin() as session:
            found = (
                await session.execute(
                    select(
                        _tokens.c.token_hash,
                        _tokens.c.family_id,
                        _tokens.c.expires_at,
                        _tokens.c.retired_at,
                        _families.c.account_id,
                        _families.c.revoked_at,
                    )
                    .join(_families, _families.c.id == _tokens.c.family_id)
                    .where(_tokens.c.token_hash == _hash(token))
                    # Both rows: a concurrent use waits, then reads them as this one left them.
                    .with_for_update()
                )
            ).one_or_none()
            why = _refusal(found, now)
            if found is not None and why is None:
                await session.execute(
                    update(_tokens)
                    .where(_tokens.c.token_hash == found.token_hash)
                    .values(retired_at=now)
                )
                await session.execute(
                    update(_families)
                    .where(_families.c.id == found.family_id)
                    .values(expires_at=now + self._ttl)
                )
                return await self._issue(session, found.family_id, found.account_id, now)
            if found is not None and why == REUSED:
                await _revoke(session, _families.c.id == found.family_id, now)
        raise Unauthenticated(Reason.INVALID_REFRESH_TOKEN, f"invalid refresh token: {why}")

    async def revoke(self, token: str, now: datetime) -> None:
        """Ends the session of `token`, whichever of its tokens it is; nothing if unknown."""
        family = select(_tokens.c.family_id).where(_tokens.c.token_hash == _hash(token))
        async with self._sessions.begin() as session:
            await _revoke(session, _families.c.id == family.scalar_subquery(), now)

    async def _issue(
        self, session: AsyncSession, family_id: uuid.UUID, account_id: str, now: datetime
    ) -> RefreshToken:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + self._ttl
        await session.execute(
            _tokens.insert().values(
                token_hash=_hash(token), family_id=family_id, issued_at=now, expires_at=expires_at
            )
        )
        return RefreshToken(token, account_id, expires_at)


async def revoke_account(session: AsyncSession, account_id: str, now: datetime) -> int:
    """Revokes every session of the account (a password change, a block), in the caller's
    transaction; answers how many were still open."""
    return await _revoke(session, _families.c.account_id == account_id, now)


async def _revoke(session: AsyncSession, which: ColumnElement[bool], now: datetime) -> int:
    revoked = await session.execute(
        update(_families)
        .where(which, _families.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(_families.c.id)
    )
    return len(revoked.all())
