"""The offerer's validation by an admin: until then, nothing of it can be found nor booked."""

from datetime import datetime

from catalog.domain.status import OffererStatus
from catalog.models import Offerer


def validate(offerer: Offerer, now: datetime) -> None:
    """Validates the offerer (pending or rejected); validating it again changes nothing.
    Publishes no event."""
    if offerer.status != OffererStatus.VALIDATED:
        offerer.status = OffererStatus.VALIDATED
        offerer.validated_at = now
