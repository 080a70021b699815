"""The services the booking service calls, each on its own channel."""

from dataclasses import dataclass

import grpc

from booking.catalog_client import CatalogClient
from booking.settings import BookingSettings
from booking.ticketing_client import TicketingClient
from pclib.auth import TokenIssuer
from pclib.grpc_client import channel


@dataclass(frozen=True)
class Upstreams:
    """The services the booking service calls: the catalog (seats) and the import service
    (tickets in a venue's ticketing system)."""

    catalog: CatalogClient
    ticketing: TicketingClient
    channels: tuple[grpc.aio.Channel, ...]

    async def close(self) -> None:
        for opened in self.channels:
            await opened.close()


def upstreams(settings: BookingSettings) -> Upstreams:
    issuer = TokenIssuer.from_file(settings.jwt_private_key_file)
    catalog_channel = channel(settings.catalog_addr)
    importer_channel = channel(settings.importer_addr)
    return Upstreams(
        CatalogClient(catalog_channel, issuer, settings.catalog_timeout_seconds),
        TicketingClient(importer_channel, issuer, settings.ticketing_timeout_seconds),
        (catalog_channel, importer_channel),
    )
