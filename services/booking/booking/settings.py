from pclib.settings import SignInSettings


class BookingSettings(SignInSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_*_KEY_FILE,
    TICKET_*_KEY_FILE, CATALOG_ADDR, IMPORTER_ADDR, SMTP_HOST, SMTP_PORT, the sign-in settings
    (REFRESH_TOKEN_TTL_SECONDS, LOGIN_*: pclib.settings.SignInSettings), …"""

    grpc_port: int = 50052
    # A young person's session lasts thirty days unused.
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # The exchange the outbox relay publishes the booking service's events on.
    events_exchange: str = "booking"
    # The catalog's exchange, whose events the worker consumes.
    catalog_exchange: str = "catalog"
    # The payments service's exchange, whose events the worker consumes.
    payments_exchange: str = "payments"
    # Queue prefix of this service's consumers (one durable quorum queue per consumer).
    queue_prefix: str = "booking"
    catalog_addr: str = "127.0.0.1:50051"
    # Calls to the catalog give up after this long (the reconciler settles what is left PENDING).
    catalog_timeout_seconds: float = 5.0
    # The import service, which books and cancels tickets in the venues' ticketing systems.
    importer_addr: str = "127.0.0.1:50053"
    # Under the gateway's deadline (5 s), so that a silent system is a clean 503 (the import
    # service still records a late answer, whose tickets are then cancelled).
    ticketing_timeout_seconds: float = 4.0
    # A PENDING booking older than this is settled by the reconciler; one of a ticketing system
    # once past the request path's deadlines (catalog, then ticketing). The same interval
    # paces the cancellation of tickets that must not stay sold (booking.external_tickets).
    reconcile_after_seconds: float = 10.0
    reconcile_ticketing_after_seconds: float = 30.0
    reconcile_interval_seconds: float = 5.0
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "pass Culture <ne-pas-repondre@passculture.app>"
    smtp_timeout_seconds: float = 10.0
    # Wrong countermarks a pro account may type per window before 429.
    counter_max_failures: int = 10
    counter_window_seconds: int = 600
    # Booking notifications (booking.notifications): timeouts of one POST, the retry schedule
    # (doubling from the first delay up to the cap, for the window, then dead-lettered), how
    # often the worker looks for due deliveries. In production only https URLs to public
    # addresses; tests allow http and loopback receivers.
    notification_timeout_seconds: float = 5.0
    notification_first_retry_seconds: float = 30.0
    notification_max_retry_seconds: float = 3600.0
    notification_retry_window_seconds: float = 24 * 3600.0
    notification_poll_seconds: float = 1.0
    notification_allow_http: bool = False
    notification_allow_loopback: bool = False
    # The signed tickets' key ring (booking.tickets), distinct from the access tokens': the
    # server signs with the private key; the public file may hold several keys (rotation).
    ticket_private_key_file: str = ".dev/ticket-private.pem"
    ticket_public_key_file: str = ".dev/ticket-public.pem"
