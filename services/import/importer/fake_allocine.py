"""A local Allociné API: serves movieShowtimeList feeds from files named <theater id>.json,
checks the bearer key, and can misbehave on demand (tests). Standard library only; it runs in
a thread of a test or as its own process (`python -m importer fake-allocine`).

`rebase` moves every showtime of a feed by whole days so that its first day is tomorrow: a
committed demo feed then always shows an upcoming programme.
"""

import argparse
import json
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from importer.domain import theater_ids
from pclib.errors import InvalidArgument

DEMO_FEEDS = Path(__file__).parent / "demo_feeds"
Document = TypeVar("Document")
# Faults (by theater): "500" answers 500; "timeout" answers nothing; "not-json" answers HTML;
# "flaky:N" answers 503 N times then serves; "slow:S" waits S seconds then serves.


def _showtimes(document: object) -> list[dict]:
    """Every showtime object of a feed, skipping whatever is not shaped as one."""
    listing = document.get("movieShowtimeList") if isinstance(document, dict) else None
    edges = listing.get("edges") if isinstance(listing, dict) else None
    found = []
    for edge in edges if isinstance(edges, list) else []:
        node = edge.get("node") if isinstance(edge, dict) else None
        showtimes = node.get("showtimes") if isinstance(node, dict) else None
        for showtime in showtimes if isinstance(showtimes, list) else []:
            if isinstance(showtime, dict) and isinstance(showtime.get("startsAt"), str):
                found.append(showtime)
    return found


def _local(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def rebased(document: Document, today: date) -> Document:
    """The feed with every readable showtime moved by the same number of days, the first one
    tomorrow (unreadable ones are left as they are)."""
    read = [(s, _local(s["startsAt"])) for s in _showtimes(document)]
    readable = [(s, local) for s, local in read if local is not None]
    if not readable:
        return document
    shift = (today + timedelta(days=1)) - min(local.date() for _, local in readable)
    for showtime, local in readable:
        showtime["startsAt"] = (local + shift).strftime("%Y-%m-%dT%H:%M:%S")
    return document


class FakeAllocine:
    def __init__(
        self,
        folder: Path | None,
        api_key: str,
        *,
        rebase: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        hang_seconds: float = 30.0,
    ) -> None:
        self.folder = folder
        self.api_key = api_key
        self.rebase = rebase
        self.hang_seconds = hang_seconds
        # Feeds set by a test, by internal theater id (bytes as served, or a JSON document).
        self.feeds: dict[str, bytes] = {}
        self.faults: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_feed(self, theater_id: str, document: object) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.feeds[theater_id] = body

    def start(self) -> "FakeAllocine":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeAllocine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answers ------------------------------------------------------------------------

    def answer(self, authorization: str, path: str) -> tuple[int, str, bytes] | None:
        """(status, content type, body) of a request; None to hang up without answering."""
        url = urlsplit(path)
        if url.path.rstrip("/") != "/movieShowtimeList":
            return _json(HTTPStatus.NOT_FOUND, "no such endpoint")
        try:
            theater = theater_ids.internal_id(parse_qs(url.query).get("theater", [""])[0])
        except InvalidArgument:
            return _json(HTTPStatus.BAD_REQUEST, "invalid theater id")
        with self._lock:
            self.requests[theater] += 1
            attempt = self.requests[theater]
        if authorization != f"Bearer {self.api_key}":
            return _json(HTTPStatus.UNAUTHORIZED, "invalid API key")
        kind, _, value = self.faults.get(theater, "").partition(":")
        if kind == "timeout":
            self._stopping.wait(self.hang_seconds)
            return None
        if kind == "slow":
            self._stopping.wait(float(value))
        return _fault(kind, value, attempt) or self._feed(theater)

    def _feed(self, theater: str) -> tuple[int, str, bytes]:
        body = self.feeds.get(theater)
        if body is None and self.folder is not None:
            path = self.folder / f"{theater}.json"
            body = path.read_bytes() if path.is_file() else None
        if body is None:
            return _json(HTTPStatus.NOT_FOUND, f"unknown theater {theater}")
        if self.rebase:
            body = json.dumps(rebased(json.loads(body), date.today())).encode()
        return 200, "application/json", body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                answer = fake.answer(self.headers.get("Authorization", ""), self.path)
                if answer is None:
                    self.close_connection = True
                    return
                status, content_type, body = answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

        return Handler


def _fault(kind: str, value: str, attempt: int) -> tuple[int, str, bytes] | None:
    if kind == "500":
        return _json(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
    if kind == "not-json":
        return 200, "text/html", b"<html><body>Maintenance en cours</body></html>"
    if kind == "flaky" and attempt <= int(value):
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, "try again")
    return None


def _json(status: HTTPStatus, message: str) -> tuple[int, str, bytes]:
    body = json.dumps({"errors": [{"message": message}]}).encode()
    return int(status), "application/json", body


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--feeds", type=Path, default=DEMO_FEEDS, help="folder of <theater>.json")
    parser.add_argument(
        "--rebase",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="move showtimes so that each feed starts tomorrow (default: on for the demo feeds)",
    )


def main(args: argparse.Namespace, api_key: str) -> int:
    if not api_key:
        print("ALLOCINE_API_KEY must be set (the key clients must send)")
        return 2
    rebase = args.rebase if args.rebase is not None else args.feeds == DEMO_FEEDS
    fake = FakeAllocine(args.feeds, api_key, rebase=rebase, host=args.host, port=args.port)
    print(f"fake Allociné serving {args.feeds} on {fake.url} (rebase={rebase})", flush=True)
    fake.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0
