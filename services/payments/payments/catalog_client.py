"""The catalog, as payments sees it: a caller's venue and a pro's offerers, always asked with
the caller's own token (so the catalog decides what the caller may see)."""

import uuid
from dataclasses import dataclass

import grpc

from passculture.catalog.v1 import account_service_pb2, venue_service_pb2
from passculture.catalog.v1 import account_service_pb2_grpc as accounts_grpc
from passculture.catalog.v1 import venue_service_pb2_grpc as venues_grpc
from passculture.payments.v1.reasons import Reason
from pclib.errors import DomainError, NotFound, Unavailable
from pclib.grpc_client import caller_refused, error_info
from pclib.pagination import MAX_PAGE_SIZE

# The caller's token, as gRPC call metadata.
CallerMetadata = tuple[tuple[str, str | bytes], ...]


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


def caller_metadata(context: grpc.aio.ServicerContext) -> CallerMetadata:
    """The caller's token (already verified by the interceptor), to forward to the catalog."""
    return tuple(
        (key, value) for key, value in context.invocation_metadata() or () if key == "authorization"
    )


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._venues = venues_grpc.VenueServiceStub(channel)
        self._accounts = accounts_grpc.AccountServiceStub(channel)
        self._timeout = timeout

    async def venue_of_caller(self, venue_id: str, metadata: CallerMetadata) -> CatalogVenue:
        """The venue if the caller may see it (a pro: its own offerers' only); VENUE_NOT_FOUND
        otherwise, as for an unknown venue."""
        try:
            reply = await self._venues.GetVenue(
                venue_service_pb2.GetVenueRequest(venue_id=venue_id),
                metadata=metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error, Reason.VENUE_NOT_FOUND) from None
        venue = reply.venue
        return CatalogVenue(
            uuid.UUID(venue.id), uuid.UUID(venue.offerer_id), venue.name, venue.siret
        )

    async def venues_of_offerer(
        self, offerer_id: uuid.UUID, metadata: CallerMetadata
    ) -> list[CatalogVenue]:
        """The offerer's venues the caller sees (all of them for a member or an admin)."""
        venues: list[CatalogVenue] = []
        request = venue_service_pb2.ListVenuesRequest(
            offerer_id=str(offerer_id), page_size=MAX_PAGE_SIZE
        )
        while True:
            try:
                reply = await self._venues.ListVenues(
                    request, metadata=metadata, timeout=self._timeout
                )
            except grpc.aio.AioRpcError as error:
                raise _domain_error(error, Reason.OFFERER_NOT_FOUND) from None
            venues += [
                CatalogVenue(uuid.UUID(v.id), uuid.UUID(v.offerer_id), v.name, v.siret)
                for v in reply.venues
            ]
            if not reply.next_page_token:
                return venues
            request.page_token = reply.next_page_token

    async def offerers_of_caller(self, metadata: CallerMetadata) -> list[CatalogOfferer]:
        """The offerers the calling pro belongs to."""
        try:
            reply = await self._accounts.ListMyOfferers(
                account_service_pb2.ListMyOfferersRequest(),
                metadata=metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error, Reason.OFFERER_NOT_FOUND) from None
        return [
            CatalogOfferer(uuid.UUID(offerer.id), offerer.name, offerer.siren)
            for offerer in reply.offerers
        ]


def _domain_error(error: grpc.aio.AioRpcError, not_found: Reason) -> DomainError:
    """The catalog's refusal of a call made with the caller's token, as this service's: NOT_FOUND
    is of what was asked (`not_found`: the catalog's VENUE_NOT_FOUND for a venue)."""
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return NotFound(not_found, error_info(error).message or "not found")
    refused = caller_refused(error)
    if refused is not None:
        return refused
    return Unavailable(Reason.CATALOG_UNAVAILABLE, "the catalog did not answer, try again later")
