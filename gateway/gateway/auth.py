"""Who is calling: the bearer token, checked here and forwarded to the services (they check it too).

Dependencies answer 401 without a valid token and 403 when the caller's role does not fit.
They are `async def` like every dependency of the gateway: FastAPI runs a plain `def` in a
worker thread, a hop that costs more than the work (a cached token check, a few lookups).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.errors import Problem, ProblemCode
from gateway.openapi import PROBLEM_RESPONSE
from gateway.schemas.accounts import AccessTokenOut
from passculture.common.v1.sessions_pb2 import RefreshToken
from pclib.auth import Principal, Role, TokenIssuer, TokenVerifier, bearer_metadata
from pclib.errors import Unauthenticated
from pclib.timestamps import to_datetime

PRO_ROLES = (Role.PRO, Role.ADMIN)  # the catalog lets admins act on any offerer
ADMIN_ROLES = (Role.ADMIN,)
BENEFICIARY_ROLES = (Role.BENEFICIARY,)
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token: /v1/auth/token (young people), /v1/pro/auth/token (pros, admins)",
)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that carries the caller's token to a service."""
        return bearer_metadata(self.token)


async def authenticated_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise Problem(
            401, ProblemCode.UNAUTHENTICATED, "an access token is required", headers=CHALLENGE
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        principal = verifier.verify(credentials.credentials)
    except Unauthenticated as error:
        raise Problem(401, error.reason, error.message, headers=CHALLENGE) from None
    return Caller(principal, credentials.credentials)


def _caller_with_role(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    async def dependency(caller: Annotated[Caller, Depends(authenticated_caller)]) -> Caller:
        if caller.principal.role not in roles:
            role = caller.principal.role
            raise Problem(403, ProblemCode.FORBIDDEN, f"role {role!r} may not do this")
        return caller

    return dependency


pro_caller = _caller_with_role(*PRO_ROLES)
admin_caller = _caller_with_role(*ADMIN_ROLES)
beneficiary_caller = _caller_with_role(*BENEFICIARY_ROLES)


def access_token(
    request: Request, response: Response, subject: str, role: Role, refresh_token: RefreshToken
) -> AccessTokenOut:
    """A new access token for someone the upstream just authenticated, with their session's new
    refresh token (never cached)."""
    issuer: TokenIssuer = request.app.state.token_issuer
    response.headers["Cache-Control"] = "no-store"
    refresh_lasts = to_datetime(refresh_token.expires_at) - datetime.now(UTC)
    return AccessTokenOut(
        access_token=issuer.issue(subject, role),
        expires_in=issuer.ttl_seconds,
        refresh_token=refresh_token.token,
        refresh_expires_in=max(0, round(refresh_lasts.total_seconds())),
    )


# The problems of the sign-in paths, for the OpenAPI.
SIGN_IN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        **PROBLEM_RESPONSE,
        "description": "INVALID_CREDENTIALS: unknown email or wrong password (the same answer"
        " for both)",
    },
    429: {
        **PROBLEM_RESPONSE,
        "description": "TOO_MANY_ATTEMPTS: too many wrong passwords for this account or from"
        " this client address; the wait doubles at each further failure",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer"},
            }
        },
    },
}
REFRESH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        **PROBLEM_RESPONSE,
        "description": "INVALID_REFRESH_TOKEN: unknown, expired, revoked, or already used (a"
        " refresh token used twice ends its session: sign in again)",
    }
}
LOGOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "The session is over (also for a token that is unknown or expired)"}
}
