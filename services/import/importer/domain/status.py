"""The values of a sync's status columns."""

from enum import StrEnum


class SyncStatus(StrEnum):
    # Asked by a pro, waiting for a slot of the server's background syncs.
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SyncTrigger(StrEnum):
    # Asked by a pro (StartSync).
    ON_DEMAND = "ON_DEMAND"
    # The daily run (`python -m importer sync-all`).
    SCHEDULED = "SCHEDULED"


# A sync under way: at most one per venue.
ACTIVE_STATUSES = (SyncStatus.PENDING, SyncStatus.RUNNING)


def ended(error: str) -> SyncStatus:
    """How a sync ends: FAILED when it has an error, else SUCCEEDED."""
    return SyncStatus.FAILED if error else SyncStatus.SUCCEEDED
