"""`python -m booking serve` that dies right after the catalog reserved a booking's seats,
before the booking is confirmed: the crash test's fault, injected from the test side (the
service holds nothing of it)."""

import os
import sys

from booking import __main__ as booking_main
from booking.saga import BookingSaga


async def _die(self: BookingSaga, *confirmed: object) -> bool:
    os._exit(1)


BookingSaga._confirm = _die  # type: ignore[method-assign]
sys.argv = ["booking", "serve"]
booking_main.main()
