from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from gateway.schemas.accounts import OffererOut, ProUserOut
from gateway.schemas.common import NOT_BLANK, RequestBody, Text, upstream_checked


class InvitationIn(RequestBody):
    email: EmailStr


class InvitationOut(BaseModel):
    id: str
    offerer_id: str
    email: str
    created_at: datetime
    expires_at: datetime = Field(description="7 days after created_at; the link works once")


class InvitationAcceptIn(RequestBody):
    password: Text = Field(
        description="The new account's password (8 characters or more), or, when the invited"
        " email has an account already, that account's password"
    )
    first_name: Text = Field("", description="Required for a new account, else ignored")
    last_name: Text = Field("", description="Required for a new account, else ignored")


class InvitationAcceptedOut(BaseModel):
    user: ProUserOut
    offerer: OffererOut
    created_account: bool = Field(description="True when the invitation made a new account")


class MemberOut(BaseModel):
    user_id: str
    email: str
    first_name: str
    last_name: str
    joined_at: datetime


class ApiKeyIn(RequestBody):
    name: Annotated[
        Text,
        upstream_checked(
            pattern=NOT_BLANK,
            maxLength=100,
            description="What the key is for (1 to 100 characters)",
        ),
    ]


class ApiKeyOut(BaseModel):
    id: str
    offerer_id: str
    name: str
    prefix: str = Field(description="The key's first characters (`pk_` and 8 more)")
    created_at: datetime
    last_used_at: datetime | None = Field(description="null: never used")


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(
        description="The whole key (`pk_…`), shown this once: only its SHA-256 is kept. A"
        " provider sends it as `Authorization: Bearer pk_…` to /v1/provider/…"
    )
