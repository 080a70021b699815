"""Pure rules of invitations and members (catalog.domain.members)."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain import members
from passculture.catalog.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_an_invitation_lasts_seven_days():
    assert timedelta(days=7) == members.INVITATION_LIFETIME
    expires_at = NOW + members.INVITATION_LIFETIME
    members.check_acceptable(None, expires_at, expires_at - timedelta(seconds=1))
    with pytest.raises(FailedPrecondition) as expired:
        members.check_acceptable(None, expires_at, expires_at)
    assert expired.value.reason == Reason.INVITATION_EXPIRED


def test_an_invitation_works_once_even_before_it_expires():
    with pytest.raises(FailedPrecondition) as used:
        members.check_acceptable(NOW, NOW + timedelta(days=7), NOW + timedelta(hours=1))
    assert used.value.reason == Reason.INVITATION_USED


def test_the_last_member_stays():
    members.check_removable(2)
    with pytest.raises(FailedPrecondition) as last:
        members.check_removable(1)
    assert last.value.reason == Reason.LAST_MEMBER


def test_tokens_are_random_and_only_their_hash_is_kept():
    first, second = members.new_token(), members.new_token()
    assert first != second and len(first) >= 43
    assert members.token_hash(first) == members.token_hash(first)
    assert members.token_hash(first) != members.token_hash(second)
    assert first.encode() not in members.token_hash(first)


@pytest.mark.parametrize("email", ["", "no-at-sign", "two words@cinema.test"])
def test_an_invited_email_must_look_like_one(email):
    with pytest.raises(InvalidArgument) as refused:
        members.check_invited_email(email)
    assert refused.value.reason == Reason.INVALID_EMAIL
