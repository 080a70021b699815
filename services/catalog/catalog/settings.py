from pclib.settings import SignInSettings


class CatalogSettings(SignInSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_PUBLIC_KEY_FILE,
    SMTP_HOST, SMTP_PORT, INVITATION_URL, the sign-in settings (REFRESH_TOKEN_TTL_SECONDS,
    LOGIN_*: pclib.settings.SignInSettings), …"""

    # A pro's session lasts a week unused.
    refresh_token_ttl_seconds: int = 7 * 24 * 3600

    # The exchange the outbox relay publishes the catalog's events on.
    events_exchange: str = "catalog"
    # The booking service's exchange, whose booking.cancelled events give seats back.
    booking_exchange: str = "booking"
    # Queue prefix of this service's consumers (one durable quorum queue per consumer).
    queue_prefix: str = "catalog"
    # The invitation emails (sent by the worker).
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "pass Culture <ne-pas-repondre@passculture.app>"
    smtp_timeout_seconds: float = 10.0
    # The link of an invitation email; {token} is the invitation's token, which
    # POST /v1/pro/invitations/{token}/accept takes (the pro web app's page in production).
    invitation_url: str = "http://127.0.0.1:8080/v1/pro/invitations/{token}/accept"
    admin_email: str = ""
    admin_password: str = ""
