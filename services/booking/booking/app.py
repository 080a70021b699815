"""Composition root: wires the database, the clients of other services, the servicers and the
workers."""

from types import ModuleType

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.api.beneficiaries import BeneficiaryServicer
from booking.api.bookings import BookingServicer
from booking.api.counter import CounterServicer
from booking.api.jobs import JobServicer
from booking.api.notifications import NotificationServicer
from booking.notifications import Destinations
from booking.saga import BookingSaga
from booking.settings import BookingSettings
from booking.tickets import TicketKeys
from booking.upstreams import Upstreams
from passculture.booking.v1 import (
    beneficiary_service_pb2,
    beneficiary_service_pb2_grpc,
    booking_service_pb2,
    booking_service_pb2_grpc,
    counter_service_pb2,
    counter_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    notification_service_pb2,
    notification_service_pb2_grpc,
)
from pclib.auth import TokenVerifier
from pclib.db import make_engine, make_pool, make_session_factory
from pclib.grpc_server import GrpcServer


def _name(module: ModuleType, service: str) -> str:
    name: str = module.DESCRIPTOR.services_by_name[service].full_name
    return name


def databases(settings: BookingSettings) -> tuple[AsyncEngine, AsyncConnectionPool]:
    """The service's database: an engine for most work, and a psycopg pool for the booking
    saga's statements (its hot path); open the pool before use. At most 2 x DB_POOL_SIZE
    connections in all, as every service."""
    engine = make_engine(settings.database_url, settings.db_pool_size, max_overflow=0)
    return engine, make_pool(settings.database_url, settings.db_pool_size)


def build_server(
    engine: AsyncEngine,
    pool: AsyncConnectionPool,
    verifier: TokenVerifier,
    clients: Upstreams,
    settings: BookingSettings,
) -> GrpcServer:
    sessions = make_session_factory(engine)
    catalog = clients.catalog
    saga = BookingSaga(pool, catalog, clients.ticketing)
    tickets = TicketKeys.from_files(
        settings.ticket_private_key_file, settings.ticket_public_key_file
    )
    return GrpcServer(
        [
            (
                beneficiary_service_pb2_grpc.add_BeneficiaryServiceServicer_to_server,
                BeneficiaryServicer(sessions, pool, settings),
                _name(beneficiary_service_pb2, "BeneficiaryService"),
            ),
            (
                booking_service_pb2_grpc.add_BookingServiceServicer_to_server,
                BookingServicer(sessions, saga, tickets, clients.ticketing),
                _name(booking_service_pb2, "BookingService"),
            ),
            (
                counter_service_pb2_grpc.add_CounterServiceServicer_to_server,
                CounterServicer(sessions, catalog, settings, tickets),
                _name(counter_service_pb2, "CounterService"),
            ),
            (
                notification_service_pb2_grpc.add_NotificationServiceServicer_to_server,
                NotificationServicer(sessions, catalog, Destinations.of(settings)),
                _name(notification_service_pb2, "NotificationService"),
            ),
            (
                job_service_pb2_grpc.add_JobServiceServicer_to_server,
                JobServicer(engine),
                _name(job_service_pb2, "JobService"),
            ),
        ],
        verifier,
    )
