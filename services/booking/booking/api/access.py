"""Who calls: the beneficiary behind a young person's token; a pro's token, to ask the catalog
which offerers it belongs to."""

import uuid

import grpc

from passculture.common.v1 import reasons as common
from pclib.auth import require_role
from pclib.errors import Unauthenticated


def require_beneficiary() -> uuid.UUID:
    """The calling beneficiary's id."""
    principal = require_role("beneficiary")
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Unauthenticated(
            common.Reason.INVALID_TOKEN, "the token's subject is not a beneficiary"
        ) from None


def caller_metadata(context: grpc.aio.ServicerContext) -> tuple[tuple[str, str], ...]:
    """The caller's own token, for the catalog to check which offerers it belongs to."""
    return tuple(
        (key, value)
        for key, value in (context.invocation_metadata() or ())
        if key == "authorization" and isinstance(value, str)
    )
