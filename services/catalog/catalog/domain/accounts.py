"""Rules of a pro's sign-up: the user and its offerer."""

from catalog.domain.identifiers import is_valid_siren
from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument

MIN_PASSWORD_LENGTH = 8


def normalised_email(email: str) -> str:
    """Emails are stored, and looked up, lower-cased."""
    return email.strip().lower()


def check_sign_up(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    offerer_name: str,
    offerer_siren: str,
) -> None:
    """Refuses a sign-up whose fields are missing or malformed (`email` normalised)."""
    if "@" not in email:
        raise InvalidArgument(Reason.INVALID_EMAIL, "email is not valid")
    check_account_fields(password=password, first_name=first_name, last_name=last_name)
    if not offerer_name.strip():
        raise InvalidArgument(Reason.INVALID_OFFERER_NAME, "offerer_name is required")
    if not is_valid_siren(offerer_siren):
        raise InvalidArgument(Reason.INVALID_SIREN, "SIREN must be 9 digits with a valid checksum")


def check_account_fields(*, password: str, first_name: str, last_name: str) -> None:
    """Refuses a new account's password or names (a sign-up's, an invitation's)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(Reason.PASSWORD_TOO_SHORT, "password needs 8 characters or more")
    for value, reason, field in (
        (first_name, Reason.INVALID_FIRST_NAME, "first_name"),
        (last_name, Reason.INVALID_LAST_NAME, "last_name"),
    ):
        if not value.strip():
            raise InvalidArgument(reason, f"{field} is required")
