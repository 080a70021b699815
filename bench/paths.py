"""Where the repository's code lives, for the processes the bench starts."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The same source roots as the Makefile and pytest's pythonpath.
SOURCE_ROOTS = (
    "gen",
    "libs",
    "services/catalog",
    "services/booking",
    "services/import",
    "services/payments",
    "gateway",
)


def python_path() -> str:
    """PYTHONPATH for a child process: the source roots, then whatever was already set."""
    roots = [str(REPO_ROOT / root) for root in SOURCE_ROOTS]
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*roots, inherited] if inherited else roots)
