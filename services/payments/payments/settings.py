from pclib.settings import BaseServiceSettings


class PaymentsSettings(BaseServiceSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_PUBLIC_KEY_FILE,
    CATALOG_ADDR, DEBTOR_NAME, DEBTOR_IBAN, DEBTOR_BIC, PUSHGATEWAY_URL, …"""

    grpc_port: int = 50054
    # The exchange the outbox relay publishes booking.reimbursed on.
    events_exchange: str = "payments"
    # The exchanges whose events the worker consumes.
    booking_exchange: str = "booking"
    catalog_exchange: str = "catalog"
    # Queue prefix of this service's consumers (one durable quorum queue per consumer).
    queue_prefix: str = "payments"
    catalog_addr: str = "127.0.0.1:50051"
    catalog_timeout_seconds: float = 5.0

    # The SEPA debtor: pass Culture's own account (dev defaults; production sets its own).
    debtor_name: str = "pass Culture"
    debtor_iban: str = "FR7630001007941234567890185"
    debtor_bic: str = "BDFEFRPPCCT"
    # The SEPA file's initiating party id (e.g. the debtor's SIREN).
    debtor_id: str = "853318459"
    # Where `python -m payments batch` pushes its metrics before it ends (none: not pushed).
    pushgateway_url: str = ""
