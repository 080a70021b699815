"""An offerer's members and invitations: invite, accept, remove. Each transition runs in the
caller's transaction and returns the event for the outbox, if any.

Membership is the catalog's alone: every service asks the catalog which offerers a caller
belongs to on each call (AccountService.ListMyOfferers, VenueService.GetVenue with the caller's
token), so a member removed here has lost the offerer's rights by the next request anywhere.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from catalog import events
from catalog.domain import members as rules
from catalog.models import Invitation, Membership, Offerer, ProUser
from passculture.catalog.v1.reasons import Reason
from pclib.errors import AlreadyExists, NotFound


@dataclass(frozen=True)
class NewAccount:
    password_hash: str
    first_name: str
    last_name: str


async def invite(
    session: AsyncSession, offerer: Offerer, inviter: ProUser, email: str, now: datetime
) -> tuple[Invitation, events.Event]:
    """A new invitation of `email` (normalised) to `offerer`, and its event carrying the token."""
    rules.check_invited_email(email)
    already = await session.scalar(
        select(Membership.user_id)
        .join(ProUser, ProUser.id == Membership.user_id)
        .where(Membership.offerer_id == offerer.id, ProUser.email == email)
    )
    if already is not None:
        raise AlreadyExists(Reason.ALREADY_MEMBER, "this email's account is a member already")
    token = rules.new_token()
    invitation = Invitation(
        id=uuid.uuid4(),
        offerer_id=offerer.id,
        email=email,
        token_hash=rules.token_hash(token),
        invited_by=inviter.id,
        created_at=now,
        expires_at=now + rules.INVITATION_LIFETIME,
    )
    session.add(invitation)
    invited_by = f"{inviter.first_name} {inviter.last_name}".strip()
    return invitation, events.invitation_created(invitation, offerer, token, invited_by)


async def find_invitation(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> Invitation:
    query = select(Invitation).where(Invitation.token_hash == rules.token_hash(token))
    if for_update:
        query = query.with_for_update()
    invitation = await session.scalar(query)
    if invitation is None:
        raise NotFound(Reason.INVITATION_NOT_FOUND, "no invitation with this token")
    return invitation


async def accept(
    session: AsyncSession,
    token: str,
    account: ProUser | NewAccount,
    now: datetime,
) -> tuple[ProUser, Offerer]:
    """Makes the account (an existing one, or a new one with the invited email) a member. The
    invitation is locked: of two acceptances at once, the second finds it used."""
    invitation = await find_invitation(session, token, for_update=True)
    rules.check_acceptable(invitation.accepted_at, invitation.expires_at, now)
    if isinstance(account, NewAccount):
        user = ProUser(
            email=invitation.email,
            password_hash=account.password_hash,
            first_name=account.first_name,
            last_name=account.last_name,
        )
        session.add(user)
        await session.flush()
    else:
        user = account
    # A member already (invited twice): the invitation is spent all the same.
    await session.execute(
        insert(Membership)
        .values(user_id=user.id, offerer_id=invitation.offerer_id)
        .on_conflict_do_nothing()
    )
    invitation.accepted_at = now
    invitation.accepted_by = user.id
    offerer = await session.get_one(Offerer, invitation.offerer_id)
    return user, offerer


async def lock(session: AsyncSession, offerer: Offerer) -> None:
    """Removals of one offerer's members one at a time: two members removing each other at
    once must not leave the offerer with none."""
    await session.execute(select(Offerer.id).where(Offerer.id == offerer.id).with_for_update())


async def remove(session: AsyncSession, offerer: Offerer, user_id: uuid.UUID) -> None:
    await lock(session, offerer)
    count = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.offerer_id == offerer.id)
    )
    removed = await session.execute(
        delete(Membership)
        .where(Membership.offerer_id == offerer.id, Membership.user_id == user_id)
        .returning(Membership.user_id)
    )
    if removed.first() is None:
        raise NotFound(Reason.MEMBER_NOT_FOUND, "not a member of this offerer")
    rules.check_removable(count or 0)
