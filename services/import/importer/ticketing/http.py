"""What the adapters share: one httpx call, its failures as the ticketing errors."""

from typing import Any

import httpx

from importer.ticketing import Refused, SystemUnavailable


class Unauthorized(Refused):
    """401: the credentials (or a session token) were not accepted."""


def http_client(timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0)),
        limits=httpx.Limits(max_connections=20),
    )


async def call(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The answer when 2xx; timeouts, transport errors and 5xx raise SystemUnavailable, other
    statuses Refused (401: Unauthorized). The URL (which may hold a token) is never part of the
    message."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException as error:
        raise SystemUnavailable(f"{method} timed out") from error
    except httpx.TransportError as error:
        raise SystemUnavailable(f"{method} failed: {type(error).__name__}") from error
    if response.status_code >= 500:
        raise SystemUnavailable(f"{method} answered {response.status_code}")
    if response.status_code == 401:
        raise Unauthorized(f"{method} answered 401")
    if response.status_code >= 400:
        raise Refused(f"{method} answered {response.status_code}")
    return response


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise Refused("the answer is not JSON") from error
