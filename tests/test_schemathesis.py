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

from tests.e2e_helpers import eventually, ok, publish_cinema, publish_showtime, sign_up_young, token
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
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
RUN_TIMEOUT_SECONDS = 600
# The warnings that fail a run: operations that mostly refuse what their schema admits.
FAIL_ON = ("validation_mismatch", "missing_test_data", "low_valid_rate")

# The operations each role calls (regular expressions over the path); the others answer it 403.
ROLE_PATHS = {
    "anonymous": r"^/(healthz|readyz|v1/(auth/.*|beneficiaries|pro/(accounts|auth/.*)"
    r"|offers.*|tickets/jwks\.json))$",
    "young": r"^/v1/(me|bookings.*)$",
    "pro": r"^/v1/pro/(?!accounts$|auth/).*$",
    "admin": r"^/v1/admin/.*$",
}


async def _seed(http: httpx.AsyncClient, admin_credentials: dict[str, str]) -> dict[str, object]:
    """Data for every role: each operation gets the ids of real resources."""
    admin = await token(http, "/v1/pro/auth/token", **admin_credentials)
    pro, venue = await publish_cinema(http, admin, "cinema@example.com")
    offer, stock = await publish_showtime(http, pro, venue, "Le Mépris", 24 * 7, 100)
    young_person, young = await sign_up_young(http, admin)
    booking = await ok(http.post("/v1/bookings", json={"stock_id": stock["id"]}, headers=young), 201)
    settings = {"theater_id": "P0591", "price_cents": 700}
    await ok(http.put(f"/v1/pro/venues/{venue['id']}/allocine", json=settings, headers=pro))

    async def bank_account() -> dict | None:  # once payments has heard of the venue
        body = {"iban": new_iban(), "bic": "BNPAFRPPXXX", "holder_name": "Cinéma du Panthéon"}
        answer = await http.put(
            f"/v1/pro/venues/{venue['id']}/bank-account", json=body, headers=pro
        )
        return answer.json() if answer.status_code == 200 else None

    await eventually(bank_account)
    return {
        "headers": {"anonymous": {}, "young": young, "pro": pro, "admin": admin},
        "parameters": {
            "path.venue_id": venue["id"],
            "path.offer_id": offer["id"],
            "path.stock_id": stock["id"],
            "path.booking_id": booking["id"],
            "path.countermark": booking["countermark"],
            "path.offerer_id": venue["offerer_id"],
            "path.beneficiary_id": young_person["id"],
            "query.offerer_id": venue["offerer_id"],
        },
    }


@pytest.fixture(scope="module")
async def seeded(full_stack) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=full_stack.base_url, timeout=10) as http:
        return await _seed(http, full_stack.admin)


def _config(role: str, seeded: dict, report: Path) -> str:
    """The run's schemathesis.toml."""
    parameters = "\n".join(f'"{key}" = "{value}"' for key, value in seeded["parameters"].items())
    headers = "\n".join(f'"{key}" = "{value}"' for key, value in seeded["headers"][role].items())
    return f"""
[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true

[phases.examples]
enabled = false
[phases.stateful]
enabled = false

[warnings]
fail-on = {json.dumps(list(FAIL_ON))}

[headers]
{headers}

[parameters]
{parameters}

[reports.json]
enabled = true
path = "{report}"
"""


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
        "--workers=2",
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


@pytest.mark.parametrize("role", ["anonymous", "young", "pro", "admin"])
async def test_schemathesis_finds_nothing(full_stack, seeded, role, tmp_path) -> None:
    code, output, report = await _run_schemathesis(full_stack.base_url, role, seeded, tmp_path)
    print(output)
    assert code == 0, output
