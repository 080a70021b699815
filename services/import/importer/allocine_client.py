"""Allociné's API over HTTP (httpx): a theater's movieShowtimeList, with timeouts, a size
limit and bounded retries with backoff on transient failures (5xx, 429, timeouts, connection
errors; never on another 4xx)."""

import asyncio
import json
import logging
import random

import httpx

from importer.domain.theater_ids import relay_id

log = logging.getLogger(__name__)


class AllocineError(Exception):
    """The theater's feed could not be fetched or read (the message says why, for the pro)."""


class _Transient(AllocineError):
    """Worth another attempt."""


class AllocineClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        *,
        retries: int = 2,
        backoff_seconds: float = 1.0,
        budget_seconds: float = 60.0,
        max_bytes: int = 50_000_000,
    ) -> None:
        self._http = http
        self._url = f"{base_url.rstrip('/')}/movieShowtimeList"
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._attempts = retries + 1
        self._backoff = backoff_seconds
        self._budget = budget_seconds
        self._max_bytes = max_bytes

    @staticmethod
    def http_client(timeout_seconds: float, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0)),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": "passculture-importer/1"},
        )

    async def showtimes(self, theater_id: str) -> bytes:
        """The theater's programme as Allociné sent it (read it with `parse`)."""
        try:
            async with asyncio.timeout(self._budget):
                return await self._with_retries(theater_id)
        except TimeoutError:
            raise AllocineError(
                f"no usable answer from Allociné within {self._budget:.0f} s"
            ) from None

    async def _with_retries(self, theater_id: str) -> bytes:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._get(theater_id)
            except _Transient as error:
                if attempt == self._attempts:
                    raise AllocineError(f"{error} (after {attempt} attempts)") from None
                delay = self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
                log.warning(
                    "Allociné fetch failed, retrying",
                    extra={"theater": theater_id, "attempt": attempt, "error": str(error)},
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _get(self, theater_id: str) -> bytes:
        params = {"theater": relay_id(theater_id)}
        try:
            async with self._http.stream(
                "GET", self._url, params=params, headers=self._headers
            ) as response:
                _check_status(response.status_code)
                return await self._read(response)
        except httpx.TimeoutException:
            raise _Transient("Allociné did not answer in time") from None
        except httpx.TransportError as error:
            raise _Transient(f"Allociné could not be reached ({type(error).__name__})") from None

    async def _read(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise AllocineError(f"the feed is larger than {self._max_bytes} bytes")
        return bytes(body)


def _check_status(status: int) -> None:
    if status == 200:
        return
    if status >= 500 or status == 429:
        raise _Transient(f"Allociné answered HTTP {status}")
    if status in (401, 403):
        raise AllocineError(f"Allociné refused the API key (HTTP {status})")
    raise AllocineError(f"Allociné answered HTTP {status}")


def parse(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise AllocineError("Allociné's answer is not JSON") from None
