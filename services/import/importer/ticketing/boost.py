"""Boost: one server per cinema, a session token from `api/vendors/login`, as pass Culture's
BoostClientAPI calls it (`api/showtimes/between/{start}/{end}`, `api/showtimes/{id}`,
`api/sale/complete`, `api/sale/orderCancel`)."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from importer.ticketing import Account, Refused, Showtime, SoldOut, Tariff, Ticket
from importer.ticketing.http import Unauthorized, call, json_of

# The pass Culture pricings, the first preferred (BOOST_PASS_CULTURE_PRICING_CODES).
PRICING_CODES = ("PCU", "PC2", "PC3", "PC4", "PC5")
# pass Culture's payment method, payment code and refund type in Boost.
PAYMENT_METHOD = "external:credit:passculture"
CODE_PAYMENT = "PCU"
REFUND_TYPE = "pcu"
PER_PAGE = 30


class BoostClient:
    def __init__(self, http: httpx.AsyncClient, api_url: str, account: Account) -> None:
        self._http = http
        self._base = api_url.format(cinema_id=account.cinema_id)
        self._account = account
        self._token: str | None = None

    async def _login(self) -> str:
        response = await call(
            self._http,
            "POST",
            self._base + "api/vendors/login",
            params={"ignore_device": "true"},
            json={
                "username": self._account.account_id,
                "password": self._account.secret.get_secret_value(),
                "stationName": "pass Culture",
            },
        )
        token = json_of(response).get("token")
        if not token:
            raise Refused("Boost login answered no token")
        return str(token)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """With the session token; a 401 (the session expired) logs in again once and retries,
        as pass Culture's client does (a request answered 401 was not done: retrying a sale
        cannot sell twice). A second 401 is Refused."""
        if self._token is None:
            self._token = await self._login()
        try:
            return await self._authorized(method, path, **kwargs)
        except Unauthorized:
            self._token = await self._login()
        return await self._authorized(method, path, **kwargs)

    async def _authorized(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        return json_of(await call(self._http, method, self._base + path, headers=headers, **kwargs))

    async def showtimes(self, start: date, days: int) -> list[Showtime]:
        path = f"api/showtimes/between/{start:%Y-%m-%d}/{start + timedelta(days=days):%Y-%m-%d}"
        found: list[Showtime] = []
        page = 1
        while True:
            params = {
                "paymentMethod": PAYMENT_METHOD,
                "hideFullReservation": 1,
                "page": page,
                "per_page": PER_PAGE,
            }
            collection = await self._request("GET", path, params=params)
            found.extend(
                showtime for item in collection["data"] if (showtime := _showtime(item)) is not None
            )
            if page >= int(collection.get("totalPages", 1)):
                return found
            page += 1

    async def book(self, showtime_ref: str, tariff_ref: str, quantity: int) -> list[Ticket]:
        details = (await self._request("GET", f"api/showtimes/{int(showtime_ref)}"))["data"]
        if details.get("soldOut") or int(details["numberSeatsRemaining"]) < quantity:
            raise SoldOut(f"{details['numberSeatsRemaining']} seats left")
        body = {
            "codePayment": CODE_PAYMENT,
            "basketItems": [{"idShowtimePricing": int(tariff_ref), "quantity": quantity}],
        }
        sale = (await self._request("POST", "api/sale/complete", json=body))["data"]
        # One barcode for the whole sale, a seat per ticket.
        return [
            Ticket(
                barcode=str(sale["code"]),
                seat=str(ticket["seat"]["id"]) if ticket.get("seat") else None,
            )
            for ticket in sale["tickets"]
        ]

    async def cancel(self, barcodes: Sequence[str]) -> None:
        body = {
            "sales": [{"code": code, "refundType": REFUND_TYPE} for code in sorted(set(barcodes))]
        }
        await self._request("PUT", "api/sale/orderCancel", json=body)


def _showtime(item: dict[str, Any]) -> Showtime | None:
    pricings = [
        pricing
        for pricing in item.get("showtimePricing", [])
        if pricing.get("pricingCode") in PRICING_CODES
    ]
    if not pricings:
        return None
    film = item["film"]
    features = [str(item.get("version", {}).get("code", "")).upper()]
    if "3D" in str(item.get("format", {}).get("title", "")).upper():
        features.append("3D")
    return Showtime(
        ref=str(item["id"]),
        film_ref=str(film["id"]),
        film_title=str(film.get("titleCnc", "")),
        duration_minutes=int(film["duration"]) if film.get("duration") else None,
        visa=str(film.get("numVisa") or ""),
        starts_at=datetime.fromisoformat(item["showDate"]),
        seats_remaining=int(item["numberSeatsRemaining"]),
        features=tuple(f for f in features if f in ("VF", "VO", "3D")),
        tariffs=tuple(
            Tariff(
                ref=str(pricing["id"]),
                label=str(pricing.get("title") or pricing["pricingCode"]),
                price_cents=int(Decimal(str(pricing["amountTaxesIncluded"])) * 100),
            )
            for pricing in sorted(pricings, key=lambda p: PRICING_CODES.index(p["pricingCode"]))
        ),
    )
