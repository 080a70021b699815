from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gateway.schemas.common import NOT_BLANK, RequestBody, Text, upstream_checked


class NotificationsIn(RequestBody):
    url: Annotated[
        Text,
        upstream_checked(
            pattern=NOT_BLANK,
            maxLength=2048,
            description="Where to POST: an https URL whose host has only public addresses",
        ),
    ]


class NotificationsOut(BaseModel):
    venue_id: str
    url: str
    updated_at: datetime


class NotificationsSetOut(NotificationsOut):
    signing_secret: str = Field(
        description="The HMAC-SHA256 key of the `X-PassCulture-Signature` header, shown this"
        " once (each PUT makes a new one)"
    )


class NotificationDeliveryOut(BaseModel):
    id: str
    booking_id: str
    action: Literal["BOOK", "CANCEL"]
    status: Literal["PENDING", "DELIVERED", "DEAD_LETTERED"] = Field(
        description="DEAD_LETTERED: failed for 24 hours, no longer tried"
    )
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's HTTP status; null: none")
    last_error: str
    next_attempt_at: datetime | None = Field(description="Set while PENDING")
    delivered_at: datetime | None
