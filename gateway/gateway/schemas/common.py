"""Shapes shared by every area: request body base, pages, problems, scalar types."""

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
)

T = TypeVar("T")


def _storable(value: str) -> str:
    """Refuses what protobuf or PostgreSQL cannot carry (they would fail as a 5xx)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _not_a_number(value: object) -> object:
    """Refuses numbers: pydantic would read 20261116 as seconds since 1970."""
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time with an offset, e.g. 2026-11-16T00:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between years 1 and 9999 in UTC") from None


def upstream_checked(**constraints: Any) -> Any:
    """JSON Schema keywords that a service checks, answering 422 with its own stable code (e.g.
    INVALID_SIREN): declared in the OpenAPI, so that what the schema admits is not refused for
    its shape, but not checked here (a VALIDATION_ERROR would hide the service's code)."""
    return Field(json_schema_extra=constraints)


# What str.strip() removes (str.isspace()), spelled for ECMA and Python regular expressions
# alike: JSON Schema's \s is another set (U+FEFF in, U+001C..U+001F and U+0085 out).
PYTHON_WHITESPACE = (
    r"\t\n\x0b\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A string with something else than whitespace: the services refuse blank names and titles.
NOT_BLANK = f"[^{PYTHON_WHITESPACE}]"

# Strict scalars: a JSON "800" is not a price, a JSON 1 is not a boolean.
Text = Annotated[str, Strict(), AfterValidator(_storable)]
# The same for query parameters, which are always strings.
QueryText = Annotated[str, AfterValidator(_storable)]
# Text that a service refuses when blank (422 with its code, e.g. INVALID_TITLE).
NonBlankText = Annotated[Text, upstream_checked(pattern=NOT_BLANK)]
# A password: the services refuse shorter ones (422 PASSWORD_TOO_SHORT).
NewPassword = Annotated[Text, upstream_checked(minLength=8)]
Flag = StrictBool
# Bounded to the protobuf field's range; the services check the business range.
Int32 = Annotated[int, Field(strict=True, ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(strict=True, ge=-(2**63), le=2**63 - 1)]
Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# Requests accept any offset but no naive time; answers are UTC ("…Z").
Instant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_utc)]
# A showtime's version (VF or VO) and its projection in 3D.
Feature = Literal["VF", "VO", "3D"]

# The default of a PATCH body's field that must not be null: absent, it is left out of the
# update (`model_dump(exclude_unset=True)`); a JSON null is refused by the field's type.
UNCHANGED: Any = None


class RequestBody(BaseModel):
    """A request body: unknown fields are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details; extra members carry context (e.g. `errors`)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable UPPER_SNAKE machine code, e.g. VENUE_NOT_FOUND")
