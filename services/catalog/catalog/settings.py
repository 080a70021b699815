from pclib.settings import SignInSettings


class CatalogSettings(SignInSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_PUBLIC_KEY_FILE, the
    sign-in settings (REFRESH_TOKEN_TTL_SECONDS, LOGIN_*: pclib.settings.SignInSettings), …"""

    # A pro's session lasts a week unused.
    refresh_token_ttl_seconds: int = 7 * 24 * 3600

    # The exchange the outbox relay publishes the catalog's events on.
    events_exchange: str = "catalog"
    # The booking service's exchange, whose booking.cancelled events give seats back.
    booking_exchange: str = "booking"
    # Queue prefix of this service's consumers (one durable quorum queue per consumer).
    queue_prefix: str = "catalog"
    admin_email: str = ""
    admin_password: str = ""
