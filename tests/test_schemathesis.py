"""Schemathesis against the gateway's own OpenAPI, once per role, with the real services behind.

The stack is the end-to-end one (every service as a process, the import service and a fake
Allociné included): what a generated client meets. Seeded data (a cinema, a showtime, a young
person's booking, the venue's bank account and Allociné settings) gives the operations ids that
exist, so that generated requests reach past the 404s. Each role runs the operations it may call,
with a real token, in the coverage and fuzzing phases, and fails on any failed check or on a
warning that says the schema declares less than the API enforces.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e_helpers import (
    PASSWORD,
    eventually,
    in_hours,
    invite,
    ok,
    pay,
    publish_cinema,
    publish_showtime,
    sign_up_young,
    token,
    until_started,
)
from tests.support.payments_helpers import new_iban

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
# Cases per operation and phase: the four runs take a few minutes on a loaded machine.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
RUN_TIMEOUT_SECONDS = 600
# Long enough to publish, book and validate a showtime before it starts (20 s).
PAID_IN_HOURS = 20 / 3600
PRO_EMAIL = "pro@cinema.example.com"
# Refresh tokens given to the refresh operations: as many refreshes succeed.
SESSIONS = 3
# Operations that may still refuse most of what their schema admits, for rules no JSON Schema
# says (checksums, single-use tokens) or for the state earlier cases left (a run never restores
# it): any other operation in schemathesis's "Schema validation mismatch" fails the test.
REFUSING_FOR_RULES = {
    "anonymous": {
        "POST /v1/pro/accounts",  # SIREN's Luhn checksum; generated SIRENs repeat (409)
        "POST /v1/auth/refresh",  # a refresh token refreshes once
        "POST /v1/pro/auth/refresh",
        "POST /v1/pro/invitations/{token}/accept",  # a link works once (then 410 INVITATION_USED)
    },
    "young": set(),
    "pro": {
        "PUT /v1/pro/venues/{venue_id}/bank-account",  # IBAN check digits, BIC of its country
        "PUT /v1/pro/venues/{venue_id}/allocine",  # 409 once a PATCH removed the venue's SIRET
        "PUT /v1/pro/venues/{venue_id}/ticketing",  # 409 while the Allociné import is enabled
        "PATCH /v1/pro/stocks/{stock_id}",  # starts_at in the future, booking limit before it
        # A URL's scheme and its host's resolved addresses (SSRF): no JSON Schema says them.
        "PUT /v1/pro/venues/{venue_id}/notifications",
        # One countermark in the coverage phase: used, unused, in any order.
        "GET /v1/pro/countermarks/{countermark}",
        "POST /v1/pro/countermarks/{countermark}/use",
        "POST /v1/pro/countermarks/{countermark}/unuse",
    },
    "admin": set(),
    "provider": {
        # One countermark in the coverage phase: used, unused, in any order (as the pro's).
        "GET /v1/provider/countermarks/{countermark}",
        "POST /v1/provider/countermarks/{countermark}/use",
        "POST /v1/provider/countermarks/{countermark}/unuse",
    },
}
# Operations whose resource is gone after their first case: their other cases answer 404.
DELETED_ONCE = {
    "DELETE /v1/pro/stocks/{stock_id}",
    # The link is gone after a DELETE's case, until a PUT's case links the venue again.
    "DELETE /v1/pro/venues/{venue_id}/ticketing",
    "GET /v1/pro/venues/{venue_id}/ticketing",
    "DELETE /v1/pro/venues/{venue_id}/notifications",
    "DELETE /v1/pro/offerers/{offerer_id}/api-keys/{api_key_id}",
}

# The operations each role calls (regular expressions over the path); the others answer it 403.
ROLE_PATHS = {
    "anonymous": r"^/(healthz|readyz|v1/(auth/.*|beneficiaries"
    r"|pro/(accounts|auth/.*|invitations/.*)|offers.*|tickets/jwks\.json))$",
    "young": r"^/v1/(me|bookings.*)$",
    "pro": r"^/v1/pro/(?!accounts$|auth/|invitations/).*$",
    "admin": r"^/v1/admin/.*$",
    "provider": r"^/v1/provider/.*$",
}


async def _seed(
    http: httpx.AsyncClient, admin_credentials: dict[str, str], mailbox
) -> dict[str, object]:
    """Data for every role, so that each operation gets the ids of real resources: a cinema with
    its bank account and Allociné settings; showtimes a week ahead (`stock_id`, `offer_id`, and
    the one schemathesis books), and tomorrow (the booking at the counter, validatable now: the
    young person can no longer cancel it); a booking used and paid (`payment_id`, `batch_id`)."""
    admin = await token(http, "/v1/pro/auth/token", **admin_credentials)
    pro, venue = await publish_cinema(http, admin, "cinema@example.com", PRO_EMAIL)
    # Allociné settings, disabled: the venue is linked to its ticketing system instead.
    settings = {"theater_id": "P0591", "price_cents": 700, "enabled": False}
    await ok(http.put(f"/v1/pro/venues/{venue['id']}/allocine", json=settings, headers=pro))
    link = {"system": "CDS", "cinema_id": "cine-1", "account_id": "moncinema", "secret": "t"}
    await ok(http.put(f"/v1/pro/venues/{venue['id']}/ticketing", json=link, headers=pro))

    async def bank_account() -> dict | None:  # once payments has heard of the venue
        body = {"iban": new_iban(), "bic": "BNPAFRPPXXX", "holder_name": "Cinéma du Panthéon"}
        answer = await http.put(
            f"/v1/pro/venues/{venue['id']}/bank-account", json=body, headers=pro
        )
        return answer.json() if answer.status_code == 200 else None

    await eventually(bank_account)
    # Notifications set (to a closed local port: the deliveries fail, which is fine here), on
    # the venue and on a second one that the DELETE operation removes.
    second_venue = await ok(
        http.post(
            "/v1/pro/venues",
            json={
                "offerer_id": venue["offerer_id"],
                "name": "Le Champo, salle 2",
                "address": "51 rue des Écoles",
                "postal_code": "75005",
                "city": "Paris",
                "latitude": 48.8503,
                "longitude": 2.3433,
                "booking_email": "salle2@example.com",
            },
            headers=pro,
        ),
        201,
    )
    for notified in (venue, second_venue):

        async def notifications_set(venue_id: str = notified["id"]) -> bool:
            answer = await http.put(
                f"/v1/pro/venues/{venue_id}/notifications",
                json={"url": "http://127.0.0.1:9/closed"},
                headers=pro,
            )
            return answer.status_code == 200

        await eventually(notifications_set)
    # Paid once started: booked and used in the seconds before it starts.
    _, paid_showtime = await publish_showtime(http, pro, venue, "Alphaville", PAID_IN_HOURS, 10)
    young_person, young = await sign_up_young(http, admin)

    async def book(stock_id: str) -> dict:
        body = {"stock_id": stock_id}
        return await ok(http.post("/v1/bookings", json=body, headers=young), 201)

    paid = await book(paid_showtime["id"])
    await ok(http.post(f"/v1/pro/countermarks/{paid['countermark']}/use", headers=pro))
    offer, stock = await publish_showtime(http, pro, venue, "Le Mépris", 24 * 7, 100)
    # Deleted by the coverage phase, then by the fuzzing phase (a deleted one answers 404).
    to_delete = [
        await ok(
            http.post(
                f"/v1/pro/offers/{offer['id']}/stocks",
                json={"starts_at": in_hours(24 * 8), "price_cents": 700},
                headers=pro,
            ),
            201,
        )
        for _ in range(2)
    ]
    _, to_book = await publish_showtime(http, pro, venue, "Pierrot le fou", 24 * 7, 100)
    # Validatable now (booked less than 48 hours before the showtime): one to look at, one to
    # use, one used to unuse (each operation changes only its own).
    at_counter = {}
    for title in ("Bande à part", "Tirez sur le pianiste", "Vivre sa vie"):
        _, tomorrow = await publish_showtime(http, pro, venue, title, 24, 100)
        at_counter[title] = await book(tomorrow["id"])
    countermark = {title: booking["countermark"] for title, booking in at_counter.items()}
    await ok(http.post(f"/v1/pro/countermarks/{countermark['Vivre sa vie']}/use", headers=pro))
    # The provider's own: one to look at, one to use, one used to unuse.
    for title in ("Le Petit Soldat", "Une femme est une femme", "Made in USA"):
        _, tomorrow = await publish_showtime(http, pro, venue, title, 24, 100)
        at_counter[title] = await book(tomorrow["id"])
        countermark[title] = at_counter[title]["countermark"]
    await ok(http.post(f"/v1/pro/countermarks/{countermark['Made in USA']}/use", headers=pro))
    api_keys = f"/v1/pro/offerers/{venue['offerer_id']}/api-keys"
    provider_key = await ok(http.post(api_keys, json={"name": "caisse"}, headers=pro), 201)
    # Revoked by the coverage phase, then answering 404.
    to_revoke = await ok(http.post(api_keys, json={"name": "ancienne"}, headers=pro), 201)
    await until_started(paid_showtime)
    batch = await pay(http, admin)
    query = {"offerer_id": venue["offerer_id"]}
    payments = await ok(http.get("/v1/pro/payments", params=query, headers=pro))
    # Invitations to accept (each link works once): their tokens come by email.
    offerer_id = venue["offerer_id"]
    invitations = [
        await invite(http, pro, offerer_id, f"colleague-{n}@example.com", mailbox)
        for n in range(SESSIONS)
    ]
    refresh_tokens = {
        "young_sessions": await sessions(http, "/v1/auth/token", young_person["email"]),
        "pro_sessions": await sessions(http, "/v1/pro/auth/token", PRO_EMAIL),
    }
    counter = "/v1/pro/countermarks/{countermark}"
    provider = "/v1/provider/countermarks/{countermark}"
    return {
        "headers": {
            "anonymous": {},
            "young": young,
            "pro": pro,
            "admin": admin,
            "provider": {"Authorization": f"Bearer {provider_key['key']}"},
        },
        "parameters": {
            "path.venue_id": venue["id"],
            "path.offer_id": offer["id"],
            # The coverage phase takes only these (not the operations' own below).
            "path.stock_id": to_delete[0]["id"],
            "path.booking_id": at_counter["Bande à part"]["id"],
            "path.countermark": countermark["Bande à part"],
            "path.offerer_id": venue["offerer_id"],
            "path.beneficiary_id": young_person["id"],
            "path.payment_id": payments["items"][0]["id"],
            "path.batch_id": batch["id"],
            "query.offerer_id": venue["offerer_id"],
            "body.offerer_id": venue["offerer_id"],
            "body.stock_id": to_book["id"],
            "path.token": invitations[0],
            "path.api_key_id": to_revoke["id"],
        },
        "dictionaries": refresh_tokens | {"invitations": invitations[1:]},
        "operations": [
            ("PATCH", "/v1/pro/stocks/{stock_id}", {"path.stock_id": stock["id"]}),
            ("DELETE", "/v1/pro/stocks/{stock_id}", {"path.stock_id": to_delete[1]["id"]}),
            (
                "DELETE",
                "/v1/pro/venues/{venue_id}/notifications",
                {"path.venue_id": second_venue["id"]},
            ),
            ("POST", f"{counter}/use", {"path.countermark": countermark["Tirez sur le pianiste"]}),
            ("POST", f"{counter}/unuse", {"path.countermark": countermark["Vivre sa vie"]}),
            ("GET", provider, {"path.countermark": countermark["Le Petit Soldat"]}),
            (
                "POST",
                f"{provider}/use",
                {"path.countermark": countermark["Une femme est une femme"]},
            ),
            ("POST", f"{provider}/unuse", {"path.countermark": countermark["Made in USA"]}),
            ("POST", "/v1/auth/refresh", {"body.refresh_token": "young_sessions"}),
            ("POST", "/v1/pro/auth/refresh", {"body.refresh_token": "pro_sessions"}),
            ("POST", "/v1/pro/invitations/{token}/accept", {"path.token": "invitations"}),
        ],
    }


async def sessions(http: httpx.AsyncClient, path: str, email: str) -> list[str]:
    """Refresh tokens of new sessions: each one refreshes once (then it is retired)."""
    credentials = {"email": email, "password": PASSWORD}
    answers = [await ok(http.post(path, json=credentials)) for _ in range(SESSIONS)]
    return [answer["refresh_token"] for answer in answers]


@pytest.fixture(scope="module")
async def seeded(full_stack, mailbox) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=full_stack.base_url, timeout=10) as http:
        return await _seed(http, full_stack.admin, mailbox)


def _toml(value: object) -> str:
    """A TOML value: strings, lists and inline tables are written as JSON writes them."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _config(role: str, seeded: dict, report: Path) -> str:
    """The run's schemathesis.toml: seeded ids as fixed parameters, the refresh operations drawing
    half their tokens from the seeded sessions."""
    lines = [
        f"[generation]\nmax-examples = {MAX_EXAMPLES}\ndeterministic = true",
        "[phases.examples]\nenabled = false\n[phases.stateful]\nenabled = false",
        f"[reports.json]\nenabled = true\npath = {_toml(str(report))}",
        f"[headers]\n{_pairs(seeded['headers'][role])}",
        f"[parameters]\n{_pairs(seeded['parameters'])}",
    ]
    for name, values in seeded["dictionaries"].items():
        lines.append(f"[dictionaries.{name}]\nvalues = {_toml(values)}")
    for method, path, parameters in seeded["operations"]:
        bound = {
            key: {"dictionary": value, "probability": 0.5}
            if value in seeded["dictionaries"]
            else value
            for key, value in parameters.items()
        }
        lines.append(
            f"[[operations]]\ninclude-method = {_toml(method)}\ninclude-path = {_toml(path)}"
            f"\nparameters = {_toml(bound)}"
        )
    return "\n\n".join(lines) + "\n"


def _pairs(values: dict[str, str]) -> str:
    return "\n".join(f"{_toml(key)} = {_toml(value)}" for key, value in values.items())


async def _run_schemathesis(base_url: str, role: str, seeded: dict, folder: Path) -> tuple:
    config, report = folder / f"{role}.toml", folder / f"{role}.json"
    config.write_text(_config(role, seeded, report))
    args = [
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--phases=coverage,fuzzing",
        f"--checks={','.join(CHECKS)}",
        f"--include-path-regex={ROLE_PATHS[role]}",
        "--workers=1",  # 2 threads: a race in Hypothesis's lambda descriptions (ast)
        "--seed=15",
        "--request-timeout=10",
    ]
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        *args,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=os.environ | {"NO_COLOR": "1", "COLUMNS": "160"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    return process.returncode, output.decode(errors="replace"), report


@pytest.mark.parametrize("role", ["anonymous", "young", "pro", "admin", "provider"])
async def test_schemathesis_finds_nothing(full_stack, seeded, role, tmp_path) -> None:
    code, output, report = await _run_schemathesis(full_stack.base_url, role, seeded, tmp_path)
    print(output)
    summary = json.loads(report.read_text())
    assert summary["complete"], output
    assert summary["test_cases"]["with_failures"] == 0, output
    assert not summary["failures"] and not summary["errors"], output
    warnings = summary["warnings"]
    assert set(warnings["missing_test_data"]) <= DELETED_ONCE, output
    assert set(warnings["validation_mismatch"]) <= REFUSING_FOR_RULES[role], output
    assert code in (0, 1), output  # 1: the warnings above, if any
