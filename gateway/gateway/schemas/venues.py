from pydantic import BaseModel, EmailStr

from gateway.schemas.common import UNCHANGED, Coordinate, RequestBody, Text


class VenueIn(RequestBody):
    offerer_id: Text
    name: Text
    # SIRET checks (format, checksum, offerer) are the catalog's: 422 INVALID_SIRET, …
    siret: Text | None = None
    address: Text
    postal_code: Text
    city: Text
    latitude: Coordinate
    longitude: Coordinate
    booking_email: EmailStr
    # Derived from the postal code when absent.
    timezone: Text | None = None


class VenuePatch(RequestBody):
    """Only the fields present change; `siret: null` (or "") removes the SIRET."""

    name: Text = UNCHANGED
    address: Text = UNCHANGED
    postal_code: Text = UNCHANGED
    city: Text = UNCHANGED
    latitude: Coordinate = UNCHANGED
    longitude: Coordinate = UNCHANGED
    booking_email: EmailStr = UNCHANGED
    timezone: Text = UNCHANGED
    siret: Text | None = None


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
