"""Signed tickets through the gateway: the booking's signed payload and QR code, the JWKS that
verifies it, the revoked tickets of a pro's venue, and validations synced with validated_at."""

import asyncio
from datetime import UTC, datetime, timedelta

import jwt

from gateway.qr import qr_svg


def countermark_path(countermark: str, action: str = "") -> str:
    return f"/v1/pro/countermarks/{countermark}" + (f"/{action}" if action else "")


async def test_a_booking_carries_a_ticket_the_jwks_verifies(bapi, cinema, young):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))

    jwks = await bapi.http.get("/v1/tickets/jwks.json")  # no token: public

    assert jwks.status_code == 200, jwks.text
    assert jwks.headers["cache-control"] == "public, max-age=300"
    [key] = jwks.json()["keys"]
    assert key | {"kid": "…", "x": "…"} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": "…",
        "x": "…",
    }
    ticket = booking["signed_qr_payload"].removeprefix("PASSCULTURE:v4;")
    assert jwt.get_unverified_header(ticket)["kid"] == key["kid"]
    signing_key = jwt.PyJWKSet.from_dict(jwks.json())[key["kid"]]
    claims = jwt.decode(ticket, signing_key, algorithms=["EdDSA"])
    assert (claims["cm"], claims["bid"], claims["vid"], claims["q"]) == (
        booking["countermark"],
        booking["id"],
        cinema.venue["id"],
        1,
    )
    assert claims["st"] == int(datetime.fromisoformat(booking["starts_at"]).timestamp())


async def test_the_qr_code_encodes_the_signed_ticket_with_the_countermark_beneath(
    bapi, cinema, young
):
    booking = await bapi.book(young, await bapi.showtime(cinema))
    countermark = booking["countermark"]

    answer = await bapi.http.get(f"/v1/bookings/{booking['id']}/qr.svg", headers=young.headers)

    assert answer.status_code == 200, answer.text
    expected = qr_svg(booking["signed_qr_payload"], countermark, f"pass Culture {countermark}")
    assert answer.content == expected
    assert f">{countermark}</text>" in answer.text


async def test_the_counter_takes_the_signed_payload(bapi, cinema, young):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    payload, pro = booking["signed_qr_payload"], cinema.pro.headers

    checked = await bapi.http.get(countermark_path(payload), headers=pro)
    assert checked.status_code == 200, checked.text
    assert checked.json()["booking_id"] == booking["id"]


async def test_a_validation_synced_later_keeps_its_time(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=1))
    path, pro = countermark_path(booking["countermark"], "use"), cinema.pro.headers
    booked_at = datetime.fromisoformat(booking["booked_at"])

    future = {"validated_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    problem(await bapi.http.post(path, json=future, headers=pro), 422, "INVALID_VALIDATED_AT")
    before = {"validated_at": (booked_at - timedelta(minutes=1)).isoformat()}
    problem(await bapi.http.post(path, json=before, headers=pro), 422, "INVALID_VALIDATED_AT")
    naive = {"validated_at": "2026-12-01T10:00:00"}
    problem(await bapi.http.post(path, json=naive, headers=pro), 422, "VALIDATION_ERROR")

    await asyncio.sleep(0.2)
    validated_at = datetime.now(UTC) - timedelta(milliseconds=100)  # after its confirmation
    body = {"validated_at": validated_at.isoformat()}
    used = await bapi.http.post(path, json=body, headers=pro)
    assert used.status_code == 200, used.text
    assert datetime.fromisoformat(used.json()["used_at"]) == validated_at

    again = await bapi.http.post(
        path, json={"validated_at": datetime.now(UTC).isoformat()}, headers=pro
    )
    conflict = problem(again, 410, "BOOKING_ALREADY_USED")
    assert datetime.fromisoformat(conflict["used_at"]) == validated_at


async def test_the_revoked_tickets_of_a_pros_venue(bapi, cinema, young, problem):
    booking = await bapi.book(young, await bapi.showtime(cinema, days=0.1))
    path, pro = f"/v1/pro/venues/{cinema.venue['id']}/tickets/revoked", cinema.pro.headers
    first = await bapi.http.get(path, headers=pro)
    assert first.status_code == 200, first.text
    assert first.json()["revoked_booking_ids"] == []

    used = await bapi.http.post(countermark_path(booking["countermark"], "use"), headers=pro)
    assert used.status_code == 200, used.text
    since = first.json()["next_since"]
    second = await bapi.http.get(path, params={"since": since}, headers=pro)

    assert second.json() | {"next_since": "…"} == {
        "revoked_booking_ids": [booking["id"]],
        "restored_booking_ids": [],
        "next_since": "…",
    }
    stranger = await bapi.sign_up()
    problem(await bapi.http.get(path, headers=stranger.headers), 404, "VENUE_NOT_FOUND")
    problem(await bapi.http.get(path, headers=young.headers), 403, "FORBIDDEN")
    bad = await bapi.http.get(path, params={"since": "yesterday"}, headers=pro)
    problem(bad, 422, "VALIDATION_ERROR")
