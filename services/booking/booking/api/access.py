"""Who calls: the beneficiary behind a young person's token."""

import uuid

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
