"""Film runtimes: Allociné's ISO-8601 durations ("PT1H55M0S") in whole minutes."""

import re

# Hours, minutes and seconds, each optional, at least one present: PT1H55M0S, PT95M, PT2H.
RUNTIME = re.compile(r"PT(?=\d)(?:(\d{1,2})H)?(?:(\d{1,4})M)?(?:(\d{1,5})S)?")
MAX_MINUTES = 1440


def runtime_minutes(runtime: object) -> int | None:
    """Whole minutes (seconds dropped); None when the runtime is missing, not of that form, or
    not a plausible film length (1 minute to 24 hours)."""
    if not isinstance(runtime, str):
        return None
    match = RUNTIME.fullmatch(runtime)
    if match is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 60 + minutes + seconds // 60
    return total if 0 < total <= MAX_MINUTES else None
