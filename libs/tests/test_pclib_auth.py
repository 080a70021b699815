"""Access tokens: checked with the public key loaded once, and verified tokens remembered only
until they expire."""

import time

import pytest

from pclib.auth import Principal, ServiceToken, TokenVerifier
from pclib.errors import Unauthenticated
from pclib.keys import ensure_key_pair


@pytest.fixture
def fresh_verifier(jwt_keys) -> TokenVerifier:
    """A verifier of its own: nothing verified yet."""
    return TokenVerifier.from_file(str(jwt_keys[1]))


def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    return refused.value.reason


def test_a_token_verifies_again_and_again(fresh_verifier, issuer):
    token = issuer.issue("someone", "pro")
    expected = Principal(subject="someone", role="pro")
    assert [fresh_verifier.verify(token) for _ in range(3)] == [expected] * 3


def test_a_remembered_token_is_refused_once_expired(fresh_verifier, issuer, monkeypatch):
    token = issuer.issue("someone", "pro", ttl_seconds=60)
    assert fresh_verifier.verify(token).subject == "someone"
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert refusal(fresh_verifier, token) == "INVALID_TOKEN"


def test_refused_tokens_stay_refused(fresh_verifier, issuer, tmp_path):
    ensure_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    foreign = type(issuer).from_file(str(tmp_path / "other.pem")).issue("someone", "pro")
    expired = issuer.issue("someone", "pro", ttl_seconds=-60)
    for token in (foreign, expired, "not.a.jwt", foreign, expired):
        assert refusal(fresh_verifier, token) == "INVALID_TOKEN"


def test_an_unknown_role_is_refused(fresh_verifier, issuer):
    assert refusal(fresh_verifier, issuer.issue("someone", "superuser")) == "INVALID_TOKEN"


def test_a_key_rotation_logs_no_one_out(jwt_keys, issuer, tmp_path):
    """Old and new public keys side by side: tokens of both private keys verify; once the old
    public key is removed, only the new key's tokens do."""
    ensure_key_pair(tmp_path / "new.pem", tmp_path / "new.pub")
    new_issuer = type(issuer).from_file(str(tmp_path / "new.pem"))
    old_public, new_public = jwt_keys[1].read_bytes(), (tmp_path / "new.pub").read_bytes()
    old_token, new_token = issuer.issue("old", "pro"), new_issuer.issue("new", "pro")

    both = TokenVerifier(old_public + new_public)
    assert both.verify(old_token).subject == "old"
    assert both.verify(new_token).subject == "new"

    after = TokenVerifier(new_public)
    assert after.verify(new_token).subject == "new"
    assert refusal(after, old_token) == "INVALID_TOKEN"


def test_a_file_without_a_public_key_is_refused_at_start():
    with pytest.raises(ValueError, match="no PEM public key"):
        TokenVerifier(b"not a key")


def test_a_service_token_is_reused_then_minted_again_halfway(issuer, verifier, monkeypatch):
    now = 1_000.0
    monkeypatch.setattr(time, "monotonic", lambda: now)
    service_token = ServiceToken(issuer, "booking", ttl_seconds=600)
    first = service_token.metadata()
    ((name, value),) = first
    assert name == "authorization"
    assert verifier.verify(value.removeprefix("Bearer ")) == Principal("booking", "service")

    now += 299
    assert service_token.metadata() is first
    now += 1
    assert service_token.metadata() != first
