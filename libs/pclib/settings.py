"""Settings read from the environment (pydantic-settings), shared by every service."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseServiceSettings(BaseSettings):
    """What every gRPC service reads. Each service subclasses it with its own fields."""

    model_config = SettingsConfigDict(extra="ignore")

    log_level: str = "INFO"
    database_url: str = "postgresql+psycopg://postgres@localhost:5432/postgres"
    amqp_url: str = "amqp://guest:guest@localhost:5672/"
    grpc_port: int = 50051
    # 0 disables the Prometheus endpoint (e.g. a second process on the same host).
    metrics_port: int = 0
    # Seconds in-flight RPCs get to finish after SIGTERM; Kubernetes' grace period must be longer.
    grpc_drain_seconds: float = 10.0
    jwt_public_key_file: str = ".dev/jwt-public.pem"
    # Only processes that mint tokens (the gateway, services calling other services) need it.
    jwt_private_key_file: str = ""
    db_pool_size: int = 10


class SignInSettings(BaseServiceSettings):
    """What a service that owns accounts (and checks their passwords) reads besides: its
    sessions' refresh tokens (pclib.refresh_tokens) and the throttle of wrong passwords
    (pclib.login_throttle)."""

    # How long a refresh token lasts; each use answers a new one that lasts as long again. Each
    # service sets its own.
    refresh_token_ttl_seconds: int
    # Wrong passwords an account, and a client address, may try before waiting (an address is
    # shared by the people behind one NAT: more).
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    # The first wait, doubled at each further failure up to the longest.
    login_first_wait_seconds: float = 1.0
    login_longest_wait_seconds: float = 900.0
    # A counter is forgotten this long after its last attempt (longer than the longest wait).
    login_failures_kept_seconds: float = 3600.0
