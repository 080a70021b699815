from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from gateway.schemas.common import RequestBody, Text

OffererStatus = Literal["PENDING", "VALIDATED", "REJECTED"]


class OffererIn(RequestBody):
    # The SIREN's format is the catalog's rule (422 INVALID_SIREN), not checked here.
    siren: Text
    name: Text


class ProAccountIn(RequestBody):
    email: EmailStr
    password: Text
    first_name: Text
    last_name: Text
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
