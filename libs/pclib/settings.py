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
