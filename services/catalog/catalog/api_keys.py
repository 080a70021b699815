"""An offerer's provider API keys: created, revoked, and resolved to their offerer."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.domain import api_keys as rules
from catalog.models import ApiKey, Offerer
from passculture.catalog.v1.reasons import Reason
from pclib.errors import NotFound, Unauthenticated


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    #: The whole key: answered once, never stored.
    key: str


def create(
    session: AsyncSession, offerer: Offerer, name: str, created_by: uuid.UUID | None, now: datetime
) -> NewKey:
    key = rules.new_key()
    api_key = ApiKey(
        id=uuid.uuid4(),
        offerer_id=offerer.id,
        name=rules.checked_name(name),
        prefix=rules.shown_prefix(key),
        key_hash=rules.key_hash(key),
        created_by=created_by,
        created_at=now,
    )
    session.add(api_key)
    return NewKey(api_key, key)


async def revoke(
    session: AsyncSession, offerer: Offerer, api_key_id: uuid.UUID, now: datetime
) -> None:
    revoked = await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == api_key_id,
            ApiKey.offerer_id == offerer.id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if revoked.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(Reason.API_KEY_NOT_FOUND, "API key not found")


async def authenticate(session: AsyncSession, key: str, now: datetime) -> ApiKey:
    """The key's row (last used now), if the key exists and is not revoked."""
    found = None
    if rules.looks_like_key(key):
        found = await session.scalar(
            select(ApiKey).where(
                ApiKey.key_hash == rules.key_hash(key), ApiKey.revoked_at.is_(None)
            )
        )
    if found is None:
        raise Unauthenticated(Reason.INVALID_API_KEY, "unknown or revoked API key")
    found.last_used_at = now
    return found
