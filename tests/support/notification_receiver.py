"""A local HTTP receiver of booking notifications (plain http on 127.0.0.1, which the test
settings allow): it records every POST (time, headers, body) and answers 500 to the first
`failures` of them (or to all, with failures=-1)."""

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    failures: int = 0
    received: list[Received] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver = self.server.receiver
        receiver.received.append(Received(time.monotonic(), dict(self.headers.items()), body))
        failing = receiver.failures < 0 or len(receiver.received) <= receiver.failures
        self.send_response(500 if failing else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def notification_receiver(failures: int = 0) -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(f"http://127.0.0.1:{server.server_port}/hooks/pass", failures)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
