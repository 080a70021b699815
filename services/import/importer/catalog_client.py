"""The catalog, as the import service sees it: venues, and the batch upsert of provider offers."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from importer.provider_offers import OfferToSend, chunks
from passculture.catalog.v1 import provider_service_pb2 as provider_pb
from passculture.catalog.v1 import provider_service_pb2_grpc as provider_grpc
from passculture.catalog.v1 import resources_pb2, venue_service_pb2
from passculture.catalog.v1 import venue_service_pb2_grpc as venue_grpc
from passculture.importer.v1.reasons import Reason
from pclib.auth import ServiceToken, TokenIssuer
from pclib.errors import DomainError, NotFound
from pclib.grpc_client import caller_refused, error_info

SERVICE_NAME = "importer"
TOKEN_TTL_SECONDS = 600
TRANSIENT = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
)
RETRIES = 2

# The caller's token, as gRPC call metadata.
CallerMetadata = tuple[tuple[str, str | bytes], ...]
Request = TypeVar("Request")
Response = TypeVar("Response")


class CatalogUnavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE


class CatalogError(Exception):
    """A call of the sync to the catalog failed (the message says why)."""


@dataclass(frozen=True)
class CatalogVenue:
    id: str
    name: str
    siret: str
    timezone: str


def _venue(message: resources_pb2.Venue) -> CatalogVenue:
    return CatalogVenue(message.id, message.name, message.siret, message.timezone)


class CatalogClient:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        issuer: TokenIssuer,
        timeout: float,
        chunk_stocks: int = 2000,
    ) -> None:
        self._venues = venue_grpc.VenueServiceStub(channel)
        self._providers = provider_grpc.ProviderServiceStub(channel)
        self._service_token = ServiceToken(issuer, SERVICE_NAME, TOKEN_TTL_SECONDS)
        self._timeout = timeout
        self._chunk_stocks = chunk_stocks

    async def venue_of_caller(self, venue_id: str, caller_metadata: CallerMetadata) -> CatalogVenue:
        """The venue, asked with the caller's own token: NOT_FOUND unless it is theirs."""
        request = venue_service_pb2.GetVenueRequest(venue_id=venue_id)
        try:
            reply = await self._venues.GetVenue(
                request, metadata=caller_metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error) from None
        return _venue(reply.venue)

    async def venue(self, venue_id: str) -> CatalogVenue:
        """Any venue (service token), for a sync."""
        request = venue_service_pb2.GetVenueRequest(venue_id=venue_id)
        reply = await self._call(self._venues.GetVenue, request, "read the venue")
        return _venue(reply.venue)

    async def upsert(
        self,
        venue_id: str,
        offers: list[OfferToSend],
        on_applied: Callable[
            [provider_pb.UpsertProviderOffersResponse, dict[str, bytes]], Awaitable[None]
        ],
        source: resources_pb2.OfferSource = resources_pb2.OFFER_SOURCE_ALLOCINE,
    ) -> None:
        """Sends the offers in chunks (one catalog transaction each). After each chunk,
        `on_applied` gets the catalog's counts and the fingerprints of the offers completed."""
        for chunk in chunks(offers, self._chunk_stocks):
            request = provider_pb.UpsertProviderOffersRequest(
                venue_id=venue_id,
                source=source,
                offers=chunk.offers,
            )
            reply = await self._call(self._providers.UpsertProviderOffers, request, "import")
            await on_applied(reply, chunk.completed)

    async def _call(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[Request, Response],
        request: Request,
        what: str,
    ) -> Response:
        """A service call, retried on transient failures (every call here is idempotent)."""
        for attempt in range(RETRIES + 1):
            try:
                return await method(
                    request, metadata=self._service_token.metadata(), timeout=self._timeout
                )
            except grpc.aio.AioRpcError as error:
                if error.code() in TRANSIENT and attempt < RETRIES:
                    await asyncio.sleep(0.5 * 2**attempt)
                    continue
                info = error_info(error)
                reason = info.reason or error.code().name
                raise CatalogError(f"the catalog could not {what}: {reason}") from None
        raise AssertionError("unreachable")


def _domain_error(error: grpc.aio.AioRpcError) -> DomainError:
    """The catalog's refusal of GetVenue asked with the caller's token, as this service's."""
    if error.code() == grpc.StatusCode.NOT_FOUND:  # VENUE_NOT_FOUND: unknown, or not theirs
        return NotFound(Reason.VENUE_NOT_FOUND, error_info(error).message or "venue not found")
    refused = caller_refused(error)
    if refused is not None:
        return refused
    return CatalogUnavailable(Reason.CATALOG_UNAVAILABLE, "the catalog did not answer")
