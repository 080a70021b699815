from pydantic import BaseModel, EmailStr

from gateway.schemas.common import Coordinate, RequestBody, Text


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

    name: Text = None
    address: Text = None
    postal_code: Text = None
    city: Text = None
    latitude: Coordinate = None
    longitude: Coordinate = None
    booking_email: EmailStr = None
    timezone: Text = None
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
