import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, EmailStr

from gateway.schemas.common import RequestBody, Text

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Only a "YYYY-MM-DD" string (no number read as a timestamp, no other layout)."""
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


class BeneficiaryIn(RequestBody):
    email: EmailStr
    password: Text
    first_name: Text
    last_name: Text
    birth_date: Day
    phone_number: Text = ""
    postal_code: Text = ""


class CreditOut(BaseModel):
    initial_cents: int
    remaining_cents: int
    expires_at: datetime


class BeneficiaryOut(BaseModel):
    id: str
    email: str
    first_name: str
    last_name: str
    birth_date: date
    phone_number: str
    postal_code: str
    # Null until an admin grants it.
    credit: CreditOut | None
