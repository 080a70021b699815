from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from gateway.schemas.common import NewPassword, NonBlankText, RequestBody, Text, upstream_checked

OffererStatus = Literal["PENDING", "VALIDATED", "REJECTED"]
# 9 digits with a valid Luhn checksum: the catalog's rule (422 INVALID_SIREN).
Siren = Annotated[
    Text,
    upstream_checked(
        pattern="^[0-9]{9}$",
        description="9 digits with a valid Luhn checksum (else 422 INVALID_SIREN)",
        examples=["552100554"],
    ),
]


class OffererIn(RequestBody):
    siren: Siren
    name: NonBlankText


class ProAccountIn(RequestBody):
    email: EmailStr
    password: NewPassword
    first_name: NonBlankText
    last_name: NonBlankText
    offerer: OffererIn


class CredentialsIn(RequestBody):
    # Any string: an unknown or malformed email is refused like a wrong password (401).
    email: Text
    password: Text


class ProUserOut(BaseModel):
    id: str
    email: str
    first_name: str
    last_name: str
    is_admin: bool


class OffererOut(BaseModel):
    id: str
    siren: str
    name: str
    status: OffererStatus


class ProAccountOut(BaseModel):
    user: ProUserOut
    offerer: OffererOut


class RefreshTokenIn(RequestBody):
    refresh_token: Text


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name)
    expires_in: int = Field(description="Seconds the access token lasts")
    refresh_token: str = Field(
        description="Opaque; exchanged once for a new pair at the refresh path (each use"
        " answers a new one: a refresh token used twice ends the session), or given to the"
        " logout path"
    )
    refresh_expires_in: int = Field(
        description="Seconds the refresh token lasts unused: 30 days for young people, 7 for pros"
    )
