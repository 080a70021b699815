"""A minimal HTTP/1.1 keep-alive client for load generation (asyncio streams, one connection).

httpx spends several milliseconds of CPU per request: on a small machine the load generator
would take the cores the servers need. This one parses only what the gateway answers (a status
line, headers, a Content-Length body) and costs a fraction of that.
"""

import asyncio
import json
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


class HttpConnection:
    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname, url.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str], json_body: object = None
    ) -> tuple[int, bytes]:
        """(status, body) of one request; reconnects once when the server closed the connection."""
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if json_body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        try:
            return await self._exchange(payload)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self._connect()
            return await self._exchange(payload)

    async def _exchange(self, payload: bytes) -> tuple[int, bytes]:
        self._writer.write(payload)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = None
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding":
                raise HttpError("chunked answers are not supported")
        if length is None:
            raise HttpError("an answer without Content-Length")
        return int(status_line.split(" ", 2)[1]), await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
