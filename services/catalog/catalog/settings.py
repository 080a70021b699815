from pclib.settings import BaseServiceSettings


class CatalogSettings(BaseServiceSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_PUBLIC_KEY_FILE, …"""

    # The exchange the outbox relay publishes the catalog's events on.
    events_exchange: str = "catalog"
    # The booking service's exchange, whose booking.cancelled events give seats back.
    booking_exchange: str = "booking"
    # Queue prefix of this service's consumers (one durable quorum queue per consumer).
    queue_prefix: str = "catalog"
    admin_email: str = ""
    admin_password: str = ""
