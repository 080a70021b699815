"""JWT access tokens signed with an Ed25519 key: the gateway issues them, every service checks them.

Roles (`Role`): "beneficiary", "pro", "admin", "provider" (an offerer's API key), and
"service" for service-to-service calls.

Key rotation without logging anyone out: a token names its signing key (`kid`, a thumbprint of
the public key), and a verifier's public key file may hold several PEM keys, each accepted. An
SRE first adds the new public key beside the old one everywhere, then switches the private key,
then removes the old public key once the last token it signed has expired.
"""

import contextvars
import functools
import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from passculture.common.v1.reasons import Reason
from pclib.errors import PermissionDenied, Unauthenticated

ALGORITHM = "EdDSA"
ISSUER = "passculture"
AUDIENCE = "passculture"
# Verified tokens kept, each until it expires: a caller sends the same token on every call.
VERIFIED_TOKENS_CACHED = 4096
PEM_PUBLIC_KEY = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


class Role(StrEnum):
    """The role a token carries (a principal's `role` is its plain string)."""

    BENEFICIARY = "beneficiary"
    PRO = "pro"
    ADMIN = "admin"
    #: A provider's API key, exchanged by the gateway for a short token whose subject is the
    #: offerer the key acts for.
    PROVIDER = "provider"
    #: Service-to-service calls.
    SERVICE = "service"


ROLES = frozenset(Role)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The `kid` of tokens signed by this key's private half: a thumbprint of the public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """Every public key of a PEM file (one or several concatenated), by key id."""
    keys = [_ed25519(load_pem_public_key(block)) for block in PEM_PUBLIC_KEY.findall(pem)]
    if not keys:
        raise ValueError("no PEM public key found")
    return {key_id(key): key for key in keys}


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def _ed25519(public_key: PublicKeyTypes) -> Ed25519PublicKey:
    if not isinstance(public_key, Ed25519PublicKey):
        raise ValueError(f"expected an Ed25519 public key, got {type(public_key).__name__}")
    return public_key


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)


def current_principal() -> Principal | None:
    return _principal.get()


def set_principal(principal: Principal | None) -> contextvars.Token:
    return _principal.set(principal)


def reset_principal(token: contextvars.Token) -> None:
    _principal.reset(token)


def require_role(*roles: str) -> Principal:
    """The caller, if authenticated with one of these roles."""
    principal = current_principal()
    if principal is None:
        raise Unauthenticated(Reason.UNAUTHENTICATED, "an access token is required")
    if principal.role not in roles:
        raise PermissionDenied(Reason.FORBIDDEN, f"role {principal.role!r} may not do this")
    return principal


class TokenVerifier:
    def __init__(self, public_keys_pem: bytes) -> None:
        # Parsed once: PyJWT would parse a PEM again on every call.
        self._keys = load_public_keys(public_keys_pem)
        # Bounded and thread-safe (the gateway verifies in worker threads). Failures raise, so
        # only valid tokens are kept; expiry is checked again on every use.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode)

    @classmethod
    def from_file(cls, path: str) -> "TokenVerifier":
        return cls(Path(path).read_bytes())

    def verify(self, token: str) -> Principal:
        principal, expires_at = self._verified(token)
        if expires_at <= time.time():
            raise Unauthenticated(
                Reason.INVALID_TOKEN, "invalid access token: Signature has expired"
            )
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise jwt.InvalidKeyError("signed by an unknown key")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(Reason.INVALID_TOKEN, f"invalid access token: {exc}") from exc
        if claims["role"] not in ROLES:
            raise Unauthenticated(Reason.INVALID_TOKEN, "unknown role")
        return Principal(subject=str(claims["sub"]), role=claims["role"]), int(claims["exp"])


class TokenIssuer:
    def __init__(self, private_key_pem: bytes, ttl_seconds: int = 3600) -> None:
        self._key = load_private_key(private_key_pem)
        self._kid = key_id(self._key.public_key())
        self.ttl_seconds = ttl_seconds

    @classmethod
    def from_file(cls, path: str, ttl_seconds: int = 3600) -> "TokenIssuer":
        return cls(Path(path).read_bytes(), ttl_seconds)

    def issue(self, subject: str, role: str, ttl_seconds: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "role": role,
            "iat": now,
            "exp": now + (ttl_seconds or self.ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})


class ServiceToken:
    """A service's own token for its calls to other services, minted again halfway through
    its life (a caller sends the same token on every call: verifiers remember it)."""

    def __init__(self, issuer: TokenIssuer, service_name: str, ttl_seconds: int = 600) -> None:
        self._issuer = issuer
        self._service_name = service_name
        self._ttl_seconds = ttl_seconds
        self._metadata: tuple[tuple[str, str], ...] = ()
        self._renew_at = 0.0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC call metadata carrying the current token."""
        if time.monotonic() >= self._renew_at:
            token = self._issuer.issue(self._service_name, Role.SERVICE, self._ttl_seconds)
            self._metadata = bearer_metadata(token)
            self._renew_at = time.monotonic() + self._ttl_seconds / 2
        return self._metadata


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying a token."""
    return (("authorization", f"Bearer {token}"),)
