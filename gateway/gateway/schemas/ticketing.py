"""Shapes of a venue's ticketing link (the import service's ImporterService)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel

from gateway.schemas.common import RequestBody, Text, upstream_checked

TicketingSystem = Literal["CDS", "BOOST"]
AccountId = Annotated[
    Text,
    upstream_checked(pattern="^[A-Za-z0-9._-]{1,64}$", examples=["moncinema"]),
]


class TicketingLinkIn(RequestBody):
    system: TicketingSystem
    # The cinema's id in the system (422 INVALID_TICKETING_ACCOUNT).
    cinema_id: AccountId
    # CDS: the customer account (the API host's first label); BOOST: the username.
    account_id: AccountId
    # CDS: the API token; BOOST: the password. Stored encrypted, never answered
    # (422 INVALID_TICKETING_SECRET).
    secret: Annotated[Text, upstream_checked(minLength=1, maxLength=512)]


class TicketingLinkOut(BaseModel):
    venue_id: str
    system: TicketingSystem
    cinema_id: str
    account_id: str
    updated_at: datetime | None
