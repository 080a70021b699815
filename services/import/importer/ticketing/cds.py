"""Ciné Digital Service (CDS): one API per customer account, `api_token` in the query string,
as pass Culture's CineDigitalServiceAPI calls it (resources `cinemas`, `shows`, `media`,
`vouchertype`, `paiementtype`, `transaction/create`, `transaction/cancel`)."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from importer.ticketing import Account, Refused, Showtime, SoldOut, Tariff, Ticket
from importer.ticketing.http import call, json_of

# The voucher type of pass Culture bookings, and the payment type paying them.
VOUCHER_CODE = "PSCULTURE"
VOUCHER_PAYMENT_CODE = "VCH"
ALREADY_CANCELLED = "BARCODE_ALREADY_CANCELED"
FEATURE_LABELS = {"VF": "VF", "VO": "VO", "3D": "3D"}


def cents(amount: Any) -> int:
    return int(Decimal(str(amount)) * 100)


def cds_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + moment.strftime("%z")


class CdsClient:
    def __init__(self, http: httpx.AsyncClient, api_url: str, account: Account) -> None:
        self._http = http
        self._base = api_url.format(account_id=account.account_id)
        self._cinema_id = account.cinema_id
        self._token = account.secret

    async def _get(self, resource: str) -> Any:
        response = await call(self._http, "GET", self._base + resource, params=self._auth())
        return json_of(response)

    def _auth(self) -> dict[str, str]:
        return {"api_token": self._token.get_secret_value()}

    async def _internet_gauge(self) -> bool:
        for cinema in await self._get("cinemas"):
            if str(cinema.get("id")) == self._cinema_id:
                return bool(cinema.get("is_internet_sale_gauge_active"))
        raise Refused("the cinema is not in this CDS account")

    async def _pass_culture_tariffs(self) -> dict[int, Tariff]:
        tariffs = {}
        for voucher in await self._get("vouchertype"):
            tariff = voucher.get("tariffid")
            if voucher.get("code") == VOUCHER_CODE and tariff:
                tariffs[int(tariff["id"])] = Tariff(
                    ref=f"{voucher['id']}:{tariff['id']}",
                    label=str(tariff.get("labeltariff") or "pass Culture"),
                    price_cents=cents(tariff["price"]),
                )
        return tariffs

    async def showtimes(self, start: date, days: int) -> list[Showtime]:
        gauge = await self._internet_gauge()
        tariffs = await self._pass_culture_tariffs()
        media = {int(item["id"]): item for item in await self._get("media")}
        end = start + timedelta(days=days)
        found = []
        for show in await self._get("shows"):
            if show.get("canceled") or show.get("deleted"):
                continue
            starts_at = datetime.fromisoformat(show["showtime"])
            offered = tuple(
                tariffs[int(item["tariff"]["id"])]
                for item in show.get("shows_tariff_pos_type_collection", [])
                if int(item["tariff"]["id"]) in tariffs
            )
            if not offered or not start <= starts_at.date() < end:
                continue
            film = media.get(int(show["media"]["id"]), {})
            duration = film.get("duration")
            found.append(
                Showtime(
                    ref=str(show["id"]),
                    film_ref=str(show["media"]["id"]),
                    film_title=str(film.get("title", "")),
                    duration_minutes=int(duration) // 60 if duration else None,
                    visa=str(film.get("visanumber") or ""),
                    starts_at=starts_at,
                    seats_remaining=int(
                        show["internetremainingplace"] if gauge else show["remainingplace"]
                    ),
                    features=_features(show),
                    tariffs=offered,
                )
            )
        return found

    async def _show(self, show_id: str) -> dict[str, Any]:
        for show in await self._get("shows"):
            if str(show["id"]) == show_id:
                return dict(show)
        raise Refused(f"show {show_id} is not in CDS")

    async def _voucher_payment_type(self) -> int:
        for payment in await self._get("paiementtype"):
            if payment.get("internalcode") == VOUCHER_PAYMENT_CODE:
                return int(payment["id"])
        raise Refused("CDS has no voucher payment type")

    async def book(self, showtime_ref: str, tariff_ref: str, quantity: int) -> list[Ticket]:
        show = await self._show(showtime_ref)
        gauge = await self._internet_gauge()
        remaining = show["internetremainingplace"] if gauge else show["remainingplace"]
        if int(remaining) < quantity:
            raise SoldOut(f"{remaining} seats left")
        voucher_id, tariff_id = tariff_ref.split(":")
        price = next(
            (
                t.price_cents
                for t in (await self._pass_culture_tariffs()).values()
                if t.ref == tariff_ref
            ),
            None,
        )
        if price is None:
            raise Refused("no pass Culture tariff for this show")
        now = cds_time(datetime.now(UTC))
        body = {
            "cinemaid": self._cinema_id,
            "transactiondate": now,
            "canceled": False,
            "ticketsaleCollection": [
                {
                    "id": -(index + 1),
                    "cinemaid": self._cinema_id,
                    "operationdate": now,
                    "canceled": False,
                    "tariffid": {"id": int(tariff_id)},
                    "showid": {"id": int(showtime_ref)},
                    "disabledperson": False,
                }
                for index in range(quantity)
            ],
            "paiementCollection": [
                {
                    "id": -(index + 1),
                    "amount": price / 100,
                    "paiementtypeid": {"id": await self._voucher_payment_type()},
                    "vouchertype": {"id": int(voucher_id)},
                }
                for index in range(quantity)
            ],
        }
        response = await call(
            self._http, "POST", self._base + "transaction/create", params=self._auth(), json=body
        )
        return [
            Ticket(barcode=str(ticket["barcode"]), seat=ticket.get("seatnumber") or None)
            for ticket in json_of(response)["tickets"]
        ]

    async def cancel(self, barcodes: Sequence[str]) -> None:
        if not all(barcode.isdigit() for barcode in barcodes):
            raise Refused("CDS barcodes are digits")
        body = {
            "barcodes": [int(barcode) for barcode in barcodes],
            "paiementtypeid": await self._voucher_payment_type(),
        }
        response = await call(
            self._http, "PUT", self._base + "transaction/cancel", params=self._auth(), json=body
        )
        errors = json_of(response) if response.content else {}
        if errors and set(errors.values()) != {ALREADY_CANCELLED}:
            raise Refused(f"CDS refused to cancel {sorted(errors)}")


def _features(show: dict[str, Any]) -> tuple[str, ...]:
    labels = [
        str(option.get("media_options", {}).get("ticketlabel", "")).upper()
        for option in show.get("shows_mediaoptions_collection", [])
    ]
    return tuple(FEATURE_LABELS[label] for label in labels if label in FEATURE_LABELS)
