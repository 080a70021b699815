"""Who may call the booking endpoints: 401 without a token, 403 with the wrong role.

The role is checked by the gateway before any upstream call: these run without the booking
service (the gateway here knows only the catalog).
"""

import uuid

import pytest

BOOKING_ID = str(uuid.uuid4())
BENEFICIARY_ENDPOINTS = [
    ("GET", "/v1/me"),
    ("POST", "/v1/bookings"),
    ("GET", "/v1/bookings"),
    ("GET", f"/v1/bookings/{BOOKING_ID}"),
    ("GET", f"/v1/bookings/{BOOKING_ID}/qr.svg"),
    ("POST", f"/v1/bookings/{BOOKING_ID}/cancel"),
]
PRO_ENDPOINTS = [
    ("GET", "/v1/pro/countermarks/ABCDEF"),
    ("POST", "/v1/pro/countermarks/ABCDEF/use"),
    ("POST", "/v1/pro/countermarks/ABCDEF/unuse"),
    ("GET", "/v1/pro/bookings"),
]
ADMIN_ENDPOINTS = [
    ("POST", f"/v1/admin/beneficiaries/{uuid.uuid4()}/credit"),
    ("POST", "/v1/admin/jobs/auto-use"),
]
ALL = BENEFICIARY_ENDPOINTS + PRO_ENDPOINTS + ADMIN_ENDPOINTS


def token_of(issuer, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue(str(uuid.uuid4()), role)}"}


@pytest.mark.parametrize(("method", "path"), ALL)
async def test_no_token_is_401(client, problem, method, path):
    answer = await client.request(method, path, json={})
    problem(answer, 401, "UNAUTHENTICATED")
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["pro", "admin", "service"])
@pytest.mark.parametrize(("method", "path"), BENEFICIARY_ENDPOINTS)
async def test_only_young_people_reach_their_bookings(client, problem, issuer, role, method, path):
    answer = await client.request(method, path, json={}, headers=token_of(issuer, role))
    problem(answer, 403, "FORBIDDEN")


@pytest.mark.parametrize("role", ["beneficiary", "service"])
@pytest.mark.parametrize(("method", "path"), PRO_ENDPOINTS)
async def test_young_people_never_reach_the_counter(client, problem, issuer, role, method, path):
    answer = await client.request(method, path, json={}, headers=token_of(issuer, role))
    problem(answer, 403, "FORBIDDEN")


@pytest.mark.parametrize("role", ["beneficiary", "pro", "service"])
@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
async def test_admin_endpoints_are_for_admins(client, problem, issuer, role, method, path):
    answer = await client.request(method, path, json={}, headers=token_of(issuer, role))
    problem(answer, 403, "FORBIDDEN")


async def test_a_gateway_without_the_booking_upstream_answers_503(client, problem, issuer):
    answer = await client.get("/v1/me", headers=token_of(issuer, "beneficiary"))
    problem(answer, 503, "UPSTREAM_NOT_CONFIGURED")
