"""Local fakes of the ticketing systems, each over real HTTP on a free port, speaking the wire
format pass Culture's clients use (see importer.ticketing.cds and .boost), with failures:
`fail_next("timeout" | "5xx" | "lost" | "slow")` for the next write (a sale or a
cancellation); "lost" does the sale and then never answers, "slow" does it and answers after
`hang_seconds`. A showtime's seats run out as they are sold; Boost's session tokens expire
(`expire_tokens`)."""

import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any]
# None: the answer is lost (the connection closes without one).
MaybeAnswer = Answer | None


class FakeServer:
    hang_seconds = 3.0

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self.requests: list[tuple[str, str, Any]] = []

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def fail_next(self, *kinds: str) -> None:
        self._faults.extend(kinds)

    def __enter__(self) -> "FakeServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: Any
    ) -> MaybeAnswer:
        raise NotImplementedError

    def _write(self, do: Callable[[], Answer]) -> MaybeAnswer:
        """A write, with the next fault if any; None: the answer is lost (hang, then close)."""
        fault = self._faults.pop(0) if self._faults else ""
        if fault == "timeout":
            time.sleep(self.hang_seconds)
            return None
        if fault == "5xx":
            return 503, {"message": "Service Unavailable"}
        answer = do()
        if fault in ("lost", "slow"):
            time.sleep(self.hang_seconds)
        return None if fault == "lost" else answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                with fake._lock:
                    fake.requests.append((self.command, url.path, body))
                answer = fake.handle(self.command, url.path, query, body, self.headers)
                if answer is None:
                    self.close_connection = True
                    return
                status, payload = answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        return Handler


# --- CDS -----------------------------------------------------------------------------------


class FakeCds(FakeServer):
    """One CDS customer account at /{account_id}/, its API token in `?api_token=`."""

    def __init__(self, account_id: str, cinema_id: str, token: str) -> None:
        super().__init__()
        self.account_id, self.cinema_id, self.token = account_id, cinema_id, token
        self.shows: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.vouchertypes = [
            {
                "id": 1,
                "code": "PSCULTURE",
                "tariffid": {"id": 4, "price": 5.0, "labeltariff": "Pass Culture 5€"},
            },
            {"id": 2, "code": "OTHER", "tariffid": {"id": 5, "price": 9.5, "labeltariff": "Plein"}},
        ]
        self.transactions: dict[str, dict[str, Any]] = {}
        self._barcodes = itertools.count(141414000001)

    @property
    def url(self) -> str:
        """The CDS_API_URL template of the import service's settings."""
        return self.root + "{account_id}/"

    def add_show(
        self,
        show_id: int,
        media_id: int,
        title: str,
        starts_at: datetime,
        *,
        seats: int = 100,
        tariffs: tuple[int, ...] = (4, 5),
        labels: tuple[str, ...] = ("VF",),
    ) -> None:
        if not any(item["id"] == media_id for item in self.media):
            self.media.append(
                {
                    "id": media_id,
                    "title": title,
                    "duration": 7200,
                    "storyline": "",
                    "visanumber": f"1{media_id:05}",
                }
            )
        self.shows.append(
            {
                "id": show_id,
                "canceled": False,
                "deleted": False,
                "internetremainingplace": seats,
                "remainingplace": seats + 10,
                "showtime": starts_at.isoformat(timespec="milliseconds"),
                "shows_tariff_pos_type_collection": [{"tariff": {"id": t}} for t in tariffs],
                "screen": {"id": 1},
                "media": {"id": media_id},
                "shows_mediaoptions_collection": [
                    {"media_options": {"ticketlabel": label}} for label in labels
                ],
            }
        )

    def show(self, show_id: int) -> dict[str, Any]:
        return next(show for show in self.shows if show["id"] == show_id)

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: Any
    ) -> MaybeAnswer:
        prefix = f"/{self.account_id}/"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        if query.get("api_token") != self.token:
            return 401, {"message": "Unauthorized"}
        resource = path[len(prefix) :]
        reads = {
            "cinemas": lambda: [{"id": self.cinema_id, "is_internet_sale_gauge_active": True}],
            "shows": lambda: self.shows,
            "media": lambda: self.media,
            "vouchertype": lambda: self.vouchertypes,
            "paiementtype": lambda: [
                {"id": 21, "internalcode": "VCH"},
                {"id": 1, "internalcode": "CB"},
            ],
        }
        if method == "GET" and resource in reads:
            with self._lock:
                return 200, reads[resource]()
        if method == "POST" and resource == "transaction/create":
            return self._write(lambda: self._create(body))
        if method == "PUT" and resource == "transaction/cancel":
            return self._write(lambda: self._cancel(body))
        return 404, {"message": "Not Found"}

    def _create(self, body: dict[str, Any]) -> Answer:
        with self._lock:
            sales = body["ticketsaleCollection"]
            show = self.show(sales[0]["showid"]["id"])
            if show["internetremainingplace"] < len(sales):
                return 400, {"message": "Not enough places"}
            show["internetremainingplace"] -= len(sales)
            show["remainingplace"] -= len(sales)
            tickets = []
            for _ in sales:
                barcode = str(next(self._barcodes))
                seat = f"E_{len(self.transactions) + 1}"
                self.transactions[barcode] = {"show": show["id"], "canceled": False}
                tickets.append({"barcode": barcode, "seatnumber": seat})
            return 200, {
                "id": len(self.transactions),
                "invoiceid": f"INV{len(self.transactions)}",
                "tickets": tickets,
            }

    def _cancel(self, body: dict[str, Any]) -> Answer:
        errors = {}
        with self._lock:
            for barcode in map(str, body["barcodes"]):
                ticket = self.transactions.get(barcode)
                if ticket is None:
                    errors[barcode] = "BARCODE_NOT_FOUND"
                elif ticket["canceled"]:
                    errors[barcode] = "BARCODE_ALREADY_CANCELED"
                else:
                    ticket["canceled"] = True
                    show = self.show(ticket["show"])
                    show["internetremainingplace"] += 1
                    show["remainingplace"] += 1
        return 200, errors


# --- Boost ---------------------------------------------------------------------------------


class FakeBoost(FakeServer):
    """One Boost cinema server at /{cinema_id}/, a session token from api/vendors/login."""

    def __init__(self, cinema_id: str, username: str, password: str) -> None:
        super().__init__()
        self.cinema_id, self.username, self.password = cinema_id, username, password
        self.showtimes: list[dict[str, Any]] = []
        self.sales: dict[str, dict[str, Any]] = {}
        self._tokens: set[str] = set()
        self.logins = 0
        # True: the tokens of logins expire before their first use.
        self.tokens_expire_at_once = False
        self._codes = itertools.count(1)
        self.per_page_max = 2  # small pages: the client must follow them

    def expire_tokens(self) -> None:
        """The sessions of every login so far expire (Boost answers 401 to their tokens)."""
        with self._lock:
            self._tokens.clear()

    @property
    def url(self) -> str:
        return self.root + "{cinema_id}/"

    def add_showtime(
        self,
        showtime_id: int,
        film_id: int,
        title: str,
        starts_at: datetime,
        *,
        seats: int = 100,
        pricings: tuple[tuple[int, str, str], ...] = ((108, "PCU", "6.00"), (109, "PLE", "11.50")),
        version: str = "VO",
        format_title: str = "2D",
    ) -> None:
        self.showtimes.append(
            {
                "id": showtime_id,
                "numberSeatsRemaining": seats,
                "soldOut": seats == 0,
                "showDate": starts_at.isoformat(timespec="milliseconds"),
                "film": {
                    "id": film_id,
                    "titleCnc": title,
                    "numVisa": 100000 + film_id,
                    "duration": 120,
                    "idFilmAllocine": None,
                },
                "format": {"id": 1, "title": format_title},
                "version": {"id": 2, "title": version, "code": version},
                "screen": {"id": 1, "name": "Salle 1"},
                "showtimePricing": [
                    {"id": pid, "pricingCode": code, "amountTaxesIncluded": amount, "title": code}
                    for pid, code, amount in pricings
                ],
            }
        )

    def showtime(self, showtime_id: int) -> dict[str, Any]:
        return next(item for item in self.showtimes if item["id"] == showtime_id)

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: Any
    ) -> MaybeAnswer:
        prefix = f"/{self.cinema_id}/"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        resource = path[len(prefix) :]
        if method == "POST" and resource == "api/vendors/login":
            if (body or {}).get("username") != self.username or body.get(
                "password"
            ) != self.password:
                return 401, {"message": "Invalid credentials"}
            return 200, {"message": "Login successful", "token": self._login()}
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self._tokens:
            return 401, {"message": "Unauthorized"}
        parts = resource.split("/")
        if method == "GET" and parts[:3] == ["api", "showtimes", "between"]:
            return self._between(parts[3], parts[4], query)
        if method == "GET" and parts[:2] == ["api", "showtimes"] and len(parts) == 3:
            with self._lock:
                return 200, {"message": "OK", "data": self.showtime(int(parts[2]))}
        if method == "POST" and resource == "api/sale/complete":
            return self._write(lambda: self._sale(body))
        if method == "PUT" and resource == "api/sale/orderCancel":
            return self._write(lambda: self._cancel(body))
        return 404, {"message": "Not Found"}

    def _login(self) -> str:
        with self._lock:
            self.logins += 1
            token = f"token-{self.logins}"
            if not self.tokens_expire_at_once:
                self._tokens.add(token)
            return token

    def _between(self, start: str, end: str, query: dict[str, str]) -> Answer:
        with self._lock:
            items = [
                item
                for item in self.showtimes
                if start <= item["showDate"][:10] <= end
                and not (query.get("hideFullReservation") == "1" and item["soldOut"])
            ]
        per_page = min(int(query.get("per_page", 30)), self.per_page_max)
        page = int(query.get("page", 1))
        pages = max(1, -(-len(items) // per_page))
        return 200, {
            "data": items[(page - 1) * per_page : page * per_page],
            "message": "OK",
            "page": page,
            "previousPage": max(1, page - 1),
            "nextPage": min(pages, page + 1),
            "totalPages": pages,
            "totalCount": len(items),
        }

    def _sale(self, body: dict[str, Any]) -> Answer:
        item = body["basketItems"][0]
        with self._lock:
            showtime = next(
                s
                for s in self.showtimes
                if any(p["id"] == item["idShowtimePricing"] for p in s["showtimePricing"])
            )
            if showtime["numberSeatsRemaining"] < item["quantity"]:
                return 400, {"message": "Not enough seats"}
            showtime["numberSeatsRemaining"] -= item["quantity"]
            showtime["soldOut"] = showtime["numberSeatsRemaining"] == 0
            code = f"{next(self._codes):012d}"
            self.sales[code] = {
                "showtime": showtime["id"],
                "quantity": item["quantity"],
                "cancelled": False,
            }
            tickets = [
                {
                    "id": index,
                    "ticketReference": f"{code}-{index}",
                    "seat": {"id": f"B_{index + 1}"},
                }
                for index in range(item["quantity"])
            ]
            return 200, {
                "message": "OK",
                "data": {
                    "id": len(self.sales),
                    "code": code,
                    "amountTaxesIncluded": 6.0,
                    "tickets": tickets,
                },
            }

    def _cancel(self, body: dict[str, Any]) -> Answer:
        with self._lock:
            for item in body["sales"]:
                sale = self.sales.get(item["code"].removeprefix("sale-"))
                if sale is None:
                    return 404, {"message": f"sale {item['code']} not found"}
                if not sale["cancelled"]:
                    sale["cancelled"] = True
                    self.showtime(sale["showtime"])["numberSeatsRemaining"] += sale["quantity"]
        return 200, {"message": "OK", "data": []}
