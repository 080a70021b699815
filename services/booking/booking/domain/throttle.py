"""Throttling guesses at the counter: at most N wrong countermarks per account in a sliding
window."""

import math
from datetime import datetime, timedelta


def retry_after(
    recent_failures: list[datetime], max_failures: int, window: timedelta, now: datetime
) -> int | None:
    """Seconds to wait before the next try, or None when the account may try now.

    `recent_failures`: the account's most recent failures within the window, newest first, at
    most `max_failures` of them."""
    if len(recent_failures) < max_failures:
        return None
    # Once the max-th most recent failure leaves the window, fewer than the max remain.
    wait = (recent_failures[-1] + window - now).total_seconds()
    return max(1, math.ceil(wait))
