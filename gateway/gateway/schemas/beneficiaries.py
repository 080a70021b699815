import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, EmailStr, Field

from gateway.schemas.common import NewPassword, NonBlankText, RequestBody, Text

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Only a "YYYY-MM-DD" string (no number read as a timestamp, no other layout)."""
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


# Year 0000 has the layout but no date (the gateway's VALIDATION_ERROR).
Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    Field(json_schema_extra={"pattern": "^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]


class BeneficiaryIn(RequestBody):
    email: EmailStr
    password: NewPassword
    first_name: NonBlankText
    last_name: NonBlankText
    birth_date: Annotated[Day, Field(description="Not in the future (else 422 INVALID_BIRTH_DATE)")]
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
