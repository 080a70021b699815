"""The catalog, as payments sees it: a caller's venue and a pro's offerers, always asked with
the caller's own token (so the catalog decides what the caller may see)."""

import uuid
from dataclasses import dataclass

import grpc

from passculture.catalog.v1 import account_service_pb2, venue_service_pb2
from passculture.catalog.v1 import account_service_pb2_grpc as accounts_grpc
from passculture.catalog.v1 import venue_service_pb2_grpc as venues_grpc
from pclib.errors import DomainError, NotFound, PermissionDenied, Unauthenticated, Unavailable
from pclib.grpc_client import error_info


@dataclass(frozen=True)
class CatalogVenue:
    id: uuid.UUID
    offerer_id: uuid.UUID
    name: str
    siret: str


@dataclass(frozen=True)
class CatalogOfferer:
    id: uuid.UUID
    name: str
    siren: str


def caller_metadata(context: grpc.aio.ServicerContext) -> tuple:
    """The caller's token (already verified by the interceptor), to forward to the catalog."""
    return tuple(
        (key, value) for key, value in context.invocation_metadata() or () if key == "authorization"
    )


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._venues = venues_grpc.VenueServiceStub(channel)
        self._accounts = accounts_grpc.AccountServiceStub(channel)
        self._timeout = timeout

    async def venue_of_caller(self, venue_id: str, metadata: tuple) -> CatalogVenue:
        """The venue if the caller may see it (a pro: its own offerers' only); VENUE_NOT_FOUND
        otherwise, as for an unknown venue."""
        try:
            reply = await self._venues.GetVenue(
                venue_service_pb2.GetVenueRequest(venue_id=venue_id),
                metadata=metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error, "VENUE_NOT_FOUND") from None
        venue = reply.venue
        return CatalogVenue(
            uuid.UUID(venue.id), uuid.UUID(venue.offerer_id), venue.name, venue.siret
        )

    async def offerers_of_caller(self, metadata: tuple) -> list[CatalogOfferer]:
        """The offerers the calling pro belongs to."""
        try:
            reply = await self._accounts.ListMyOfferers(
                account_service_pb2.ListMyOfferersRequest(),
                metadata=metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error, "OFFERER_NOT_FOUND") from None
        return [
            CatalogOfferer(uuid.UUID(offerer.id), offerer.name, offerer.siren)
            for offerer in reply.offerers
        ]


def _domain_error(error: grpc.aio.AioRpcError, not_found: str) -> DomainError:
    info = error_info(error)
    code = error.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(info.reason or not_found, info.message or "not found")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(info.reason or "FORBIDDEN", info.message)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(info.reason or "UNAUTHENTICATED", info.message)
    return Unavailable("CATALOG_UNAVAILABLE", "the catalog did not answer, try again later")
