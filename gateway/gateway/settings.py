"""The gateway's settings, read from unprefixed environment variables."""

from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Environment: HTTP_HOST, HTTP_PORT, CATALOG_ADDR, BOOKING_ADDR, IMPORTER_ADDR,
    PAYMENTS_ADDR, JWT_PRIVATE_KEY_FILE, …
    (see fields)."""

    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = "0.0.0.0"
    http_port: int = 8080
    log_level: str = "INFO"
    # Seconds in-flight HTTP requests get to finish after SIGTERM (whole seconds: uvicorn's).
    graceful_shutdown_seconds: int = 10

    # Each upstream gRPC service has a `<name>_addr` field and is listed in `upstreams`
    # (UPSTREAMS=catalog,booking): the gateway opens one channel per upstream and /readyz checks
    # every one of them.
    upstreams: Annotated[tuple[str, ...], NoDecode] = ("catalog", "booking", "importer", "payments")
    catalog_addr: str = "127.0.0.1:50051"
    booking_addr: str = "127.0.0.1:50052"
    importer_addr: str = "127.0.0.1:50053"
    payments_addr: str = "127.0.0.1:50054"
    upstream_timeout_seconds: float = 5.0
    readiness_timeout_seconds: float = 1.0

    # The proxies (addresses or CIDRs, comma-separated; "*" for any) whose X-Forwarded-For names
    # the client: only behind them is the header believed (uvicorn's --forwarded-allow-ips).
    # Empty: the client is the peer of the connection. The client's address is what the
    # services throttle wrong passwords by.
    forwarded_allow_ips: str = ""

    jwt_private_key_file: str = ".dev/jwt-private.pem"
    jwt_public_key_file: str = ".dev/jwt-public.pem"
    access_token_ttl_seconds: int = 3600

    @field_validator("upstreams", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @model_validator(mode="after")
    def _every_upstream_has_an_address(self) -> "GatewaySettings":
        missing = [name for name in self.upstreams if not getattr(self, f"{name}_addr", "")]
        if missing:
            raise ValueError(f"no address setting (<NAME>_ADDR) for upstreams {missing}")
        return self

    def upstream_addresses(self) -> dict[str, str]:
        """Name → host:port of every upstream."""
        return {name: getattr(self, f"{name}_addr") for name in self.upstreams}
