"""Composition root: wires the database, the servicers and the gRPC server."""

from google.protobuf.descriptor import FileDescriptor
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.api.accounts import AccountServicer
from catalog.api.api_keys import ApiKeyServicer
from catalog.api.members import MemberServicer
from catalog.api.offers import OfferServicer
from catalog.api.provider import ProviderServicer
from catalog.api.reservations import ReservationServicer
from catalog.api.search import SearchServicer
from catalog.api.stocks import StockServicer
from catalog.api.venues import VenueServicer
from catalog.settings import CatalogSettings
from passculture.catalog.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    member_service_pb2,
    member_service_pb2_grpc,
    offer_service_pb2,
    offer_service_pb2_grpc,
    provider_service_pb2,
    provider_service_pb2_grpc,
    reservation_service_pb2,
    reservation_service_pb2_grpc,
    search_service_pb2,
    search_service_pb2_grpc,
    stock_service_pb2,
    stock_service_pb2_grpc,
    venue_service_pb2,
    venue_service_pb2_grpc,
)
from pclib.auth import TokenVerifier
from pclib.grpc_server import GrpcServer


def _name(descriptor: FileDescriptor, service: str) -> str:
    return descriptor.services_by_name[service].full_name


def build_server(
    sessions: async_sessionmaker[AsyncSession],
    pool: AsyncConnectionPool,
    verifier: TokenVerifier,
    settings: CatalogSettings,
) -> GrpcServer:
    """The gRPC server. `pool`: the psycopg pool of the booking saga's calls (GetStock,
    ReserveStock), open."""
    return GrpcServer(
        [
            (
                account_service_pb2_grpc.add_AccountServiceServicer_to_server,
                AccountServicer(sessions, settings),
                _name(account_service_pb2.DESCRIPTOR, "AccountService"),
            ),
            (
                member_service_pb2_grpc.add_MemberServiceServicer_to_server,
                MemberServicer(sessions, settings),
                _name(member_service_pb2.DESCRIPTOR, "MemberService"),
            ),
            (
                api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server,
                ApiKeyServicer(sessions),
                _name(api_key_service_pb2.DESCRIPTOR, "ApiKeyService"),
            ),
            (
                venue_service_pb2_grpc.add_VenueServiceServicer_to_server,
                VenueServicer(sessions),
                _name(venue_service_pb2.DESCRIPTOR, "VenueService"),
            ),
            (
                offer_service_pb2_grpc.add_OfferServiceServicer_to_server,
                OfferServicer(sessions),
                _name(offer_service_pb2.DESCRIPTOR, "OfferService"),
            ),
            (
                search_service_pb2_grpc.add_SearchServiceServicer_to_server,
                SearchServicer(sessions, pool),
                _name(search_service_pb2.DESCRIPTOR, "SearchService"),
            ),
            (
                reservation_service_pb2_grpc.add_ReservationServiceServicer_to_server,
                ReservationServicer(sessions, pool),
                _name(reservation_service_pb2.DESCRIPTOR, "ReservationService"),
            ),
            (
                stock_service_pb2_grpc.add_StockServiceServicer_to_server,
                StockServicer(pool),
                _name(stock_service_pb2.DESCRIPTOR, "StockService"),
            ),
            (
                provider_service_pb2_grpc.add_ProviderServiceServicer_to_server,
                ProviderServicer(sessions),
                _name(provider_service_pb2.DESCRIPTOR, "ProviderService"),
            ),
        ],
        verifier,
    )
