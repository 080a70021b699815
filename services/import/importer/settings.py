from pydantic import SecretStr

from pclib.settings import BaseServiceSettings


class ImporterSettings(BaseServiceSettings):
    """Environment: DATABASE_URL, AMQP_URL, GRPC_PORT, METRICS_PORT, JWT_*_KEY_FILE, CATALOG_ADDR,
    ALLOCINE_API_URL, ALLOCINE_API_KEY, …"""

    grpc_port: int = 50053
    # The exchange the outbox relay publishes the import's events on.
    events_exchange: str = "import"
    catalog_addr: str = "127.0.0.1:50051"
    catalog_timeout_seconds: float = 30.0
    # Stocks per UpsertProviderOffers call (one catalog transaction each).
    catalog_chunk_stocks: int = 2000

    # Allociné's API base (in production its ".../api/query"; locally the fake server).
    allocine_api_url: str = "http://127.0.0.1:8090"
    allocine_api_key: str = ""
    # Seconds to wait for one answer, and the whole fetch's budget with its retries.
    allocine_timeout_seconds: float = 20.0
    allocine_fetch_budget_seconds: float = 60.0
    # Extra attempts after a 5xx, a timeout or a connection error (never after a 4xx).
    allocine_retries: int = 2
    allocine_retry_backoff_seconds: float = 1.0
    # Largest feed accepted, in bytes.
    allocine_max_feed_bytes: int = 50_000_000

    # Syncs run at once by `serve` (on demand) and by `sync-all` (daily).
    sync_concurrency: int = 4
    # A PENDING or RUNNING sync without progress for this long is taken as interrupted.
    sync_stale_after_seconds: float = 900.0
    # Where `sync-all` pushes its metrics when it ends (a Prometheus Pushgateway); empty: none.
    pushgateway_url: str = ""

    # The Fernet key (urlsafe base64 of 32 bytes) sealing the ticketing systems' secrets;
    # empty: no venue can be linked (TICKETING_NOT_CONFIGURED).
    ticketing_secret_key: SecretStr = SecretStr("")
    # Where each system's API is, per account: CDS hosts one API per customer account, Boost
    # one server per cinema.
    cds_api_url: str = "https://{account_id}.cinedigitalservice.com/api/"
    boost_api_url: str = "https://{cinema_id}.boost-cinema.com/"
    # Seconds to wait for one answer of a ticketing system.
    ticketing_timeout_seconds: float = 5.0
    # Days of showtimes a sync of a linked venue imports, from today.
    ticketing_sync_days: int = 14
