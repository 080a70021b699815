"""JWT access tokens signed with an Ed25519 key: the gateway issues them, every service checks them.

Roles: "beneficiary", "pro", "admin", and "service" for service-to-service calls.
"""

import contextvars
import functools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from pclib.errors import PermissionDenied, Unauthenticated

ALGORITHM = "EdDSA"
ISSUER = "passculture"
AUDIENCE = "passculture"
ROLES = frozenset({"beneficiary", "pro", "admin", "service"})
# Verified tokens kept, each until it expires: a caller sends the same token on every call.
VERIFIED_TOKENS_CACHED = 4096


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
        raise Unauthenticated("UNAUTHENTICATED", "an access token is required")
    if principal.role not in roles:
        raise PermissionDenied("FORBIDDEN", f"role {principal.role!r} may not do this")
    return principal


class TokenVerifier:
    def __init__(self, public_key_pem: bytes) -> None:
        # Parsed once: PyJWT would parse a PEM again on every call.
        self._key = load_pem_public_key(public_key_pem)
        # Bounded and thread-safe (the gateway verifies in worker threads). Failures raise, so
        # only valid tokens are kept; expiry is checked again on every use.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode)

    @classmethod
    def from_file(cls, path: str) -> "TokenVerifier":
        return cls(Path(path).read_bytes())

    def verify(self, token: str) -> Principal:
        principal, expires_at = self._verified(token)
        if expires_at <= time.time():
            raise Unauthenticated("INVALID_TOKEN", "invalid access token: Signature has expired")
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("INVALID_TOKEN", f"invalid access token: {exc}") from exc
        if claims["role"] not in ROLES:
            raise Unauthenticated("INVALID_TOKEN", "unknown role")
        return Principal(subject=str(claims["sub"]), role=claims["role"]), int(claims["exp"])


class TokenIssuer:
    def __init__(self, private_key_pem: bytes, ttl_seconds: int = 3600) -> None:
        self._key = load_pem_private_key(private_key_pem, password=None)
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
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying a token."""
    return (("authorization", f"Bearer {token}"),)
