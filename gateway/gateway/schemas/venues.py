import zoneinfo
from typing import Annotated

from pydantic import BaseModel, EmailStr

from gateway.schemas.common import (
    UNCHANGED,
    Coordinate,
    NonBlankText,
    RequestBody,
    Text,
    upstream_checked,
)

# The catalog's checks (422 with its codes), declared here.
Siret = Annotated[
    Text,
    upstream_checked(
        pattern="^([0-9]{14})?$",
        description="14 digits with a valid checksum (else 422 INVALID_SIRET), starting with the"
        " offerer's SIREN (else 422 SIRET_NOT_IN_OFFERER); empty or null: none",
        examples=["55210055400013"],
    ),
]
PostalCode = Annotated[
    Text,
    upstream_checked(pattern="^[0-9]{5}$", description="5 digits (else 422 INVALID_POSTAL_CODE)"),
]
Latitude = Annotated[Coordinate, upstream_checked(minimum=-90, maximum=90)]
Longitude = Annotated[Coordinate, upstream_checked(minimum=-180, maximum=180)]
# The IANA names the catalog knows (422 INVALID_TIMEZONE otherwise).
Timezone = Annotated[Text, upstream_checked(enum=sorted(zoneinfo.available_timezones()))]


class VenueIn(RequestBody):
    offerer_id: Text
    name: NonBlankText
    siret: Siret | None = None
    address: Text
    postal_code: PostalCode
    city: Text
    latitude: Latitude
    longitude: Longitude
    booking_email: EmailStr
    # Derived from the postal code when absent.
    timezone: Timezone | None = None


class VenuePatch(RequestBody):
    """Only the fields present change; `siret: null` (or "") removes the SIRET."""

    name: NonBlankText = UNCHANGED
    address: Text = UNCHANGED
    postal_code: PostalCode = UNCHANGED
    city: Text = UNCHANGED
    latitude: Latitude = UNCHANGED
    longitude: Longitude = UNCHANGED
    booking_email: EmailStr = UNCHANGED
    timezone: Timezone = UNCHANGED
    siret: Siret | None = None


class VenueOut(BaseModel):
    id: str
    offerer_id: str
    name: str
    siret: str | None
    address: str
    postal_code: str
    city: str
    latitude: float
    longitude: float
    booking_email: str
    timezone: str
