from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from gateway.schemas.accounts import OffererOut, ProUserOut
from gateway.schemas.common import RequestBody, Text


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
