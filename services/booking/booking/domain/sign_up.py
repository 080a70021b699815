"""What a young person's sign-up must hold."""

import re
from dataclasses import dataclass
from datetime import date

from passculture.booking.v1.reasons import Reason
from pclib.errors import InvalidArgument

MIN_PASSWORD_LENGTH = 8
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SignUp:
    email: str
    first_name: str
    last_name: str
    birth_date: date
    phone_number: str
    postal_code: str


def check_sign_up(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    birth_date: str,
    phone_number: str,
    postal_code: str,
    today: date,
) -> SignUp:
    """The sign-up, normalised (email lower-cased, fields stripped), or the first error."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidArgument(Reason.INVALID_EMAIL, "email is not valid")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(Reason.PASSWORD_TOO_SHORT, "password needs 8 characters or more")
    if not first_name.strip():
        raise InvalidArgument(Reason.INVALID_FIRST_NAME, "first_name is required")
    if not last_name.strip():
        raise InvalidArgument(Reason.INVALID_LAST_NAME, "last_name is required")
    return SignUp(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        birth_date=parse_birth_date(birth_date, today),
        phone_number=phone_number.strip(),
        postal_code=postal_code.strip(),
    )


def parse_birth_date(value: str, today: date) -> date:
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        born = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(Reason.INVALID_BIRTH_DATE, "birth_date must be YYYY-MM-DD") from None
    if born > today:
        raise InvalidArgument(Reason.INVALID_BIRTH_DATE, "birth_date is in the future")
    return born
