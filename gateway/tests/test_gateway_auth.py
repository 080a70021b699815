"""Sign-up, tokens, and who may call what: 401 without a valid token, 403 for a wrong role."""

import uuid

import pytest

from pclib.auth import TokenIssuer, TokenVerifier
from pclib.keys import ensure_key_pair
from tests.support.catalog_helpers import new_siren

PRO_ENDPOINTS = [
    ("GET", "/v1/pro/offerers"),
    ("GET", "/v1/pro/venues"),
    ("POST", "/v1/pro/venues"),
    ("GET", f"/v1/pro/venues/{uuid.uuid4()}"),
    ("PATCH", f"/v1/pro/venues/{uuid.uuid4()}"),
    ("POST", f"/v1/pro/venues/{uuid.uuid4()}/offers"),
    ("GET", "/v1/pro/offers"),
    ("GET", f"/v1/pro/offers/{uuid.uuid4()}"),
    ("PATCH", f"/v1/pro/offers/{uuid.uuid4()}"),
    ("POST", f"/v1/pro/offers/{uuid.uuid4()}/stocks"),
    ("GET", f"/v1/pro/offers/{uuid.uuid4()}/stocks"),
    ("PATCH", f"/v1/pro/stocks/{uuid.uuid4()}"),
    ("DELETE", f"/v1/pro/stocks/{uuid.uuid4()}"),
]
ADMIN_ENDPOINTS = [("POST", f"/v1/admin/offerers/{uuid.uuid4()}/validate")]


def sign_up_body(**overrides) -> dict:
    return {
        "email": f"pro-{uuid.uuid4().hex[:8]}@cinema.example.com",
        "password": "correct horse battery",
        "first_name": "Paula",
        "last_name": "Pro",
        "offerer": {"siren": new_siren(), "name": "Cinéma Lumière"},
    } | overrides


@pytest.mark.parametrize(("method", "path"), PRO_ENDPOINTS + ADMIN_ENDPOINTS)
async def test_no_token_is_401(client, problem, method, path):
    answer = await client.request(method, path, json={})
    problem(answer, 401, "UNAUTHENTICATED")
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer not-a-jwt", "INVALID_TOKEN"),
        ("Bearer a.b.c", "INVALID_TOKEN"),
        ("Bearer ", "UNAUTHENTICATED"),
        ("Basic cGF1bGE6c2VjcmV0", "UNAUTHENTICATED"),
    ],
)
async def test_a_malformed_authorization_is_401(client, problem, authorization, code):
    answer = await client.get("/v1/pro/venues", headers={"Authorization": authorization})
    problem(answer, 401, code)


async def test_a_token_signed_by_another_key_or_expired_is_401(client, problem, issuer, tmp_path):
    ensure_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    foreign = TokenIssuer.from_file(str(tmp_path / "other.pem"))
    for token in (
        foreign.issue(str(uuid.uuid4()), "pro"),
        issuer.issue(str(uuid.uuid4()), "pro", ttl_seconds=-60),
    ):
        answer = await client.get("/v1/pro/venues", headers={"Authorization": f"Bearer {token}"})
        problem(answer, 401, "INVALID_TOKEN")


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
async def test_a_pro_calling_an_admin_endpoint_is_403(client, problem, pro, method, path):
    problem(await client.request(method, path, headers=pro.headers), 403, "FORBIDDEN")


@pytest.mark.parametrize("role", ["beneficiary", "service"])
@pytest.mark.parametrize(("method", "path"), PRO_ENDPOINTS[:4])
async def test_other_roles_calling_pro_endpoints_are_403(
    client, problem, issuer, role, method, path
):
    headers = {"Authorization": f"Bearer {issuer.issue(str(uuid.uuid4()), role)}"}
    answer = await client.request(method, path, json={}, headers=headers)
    problem(answer, 403, "FORBIDDEN")


async def test_sign_up_then_log_in_as_a_pro(client, jwt_keys):
    body = sign_up_body(email="Paula.Pro@Cinema.Example.com")
    created = await client.post("/v1/pro/accounts", json=body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["user"]["email"] == "paula.pro@cinema.example.com"
    assert account["user"]["is_admin"] is False
    assert account["offerer"] | {"id": "…"} == {
        "id": "…",
        "siren": body["offerer"]["siren"],
        "name": "Cinéma Lumière",
        "status": "PENDING",
    }

    answer = await client.post(
        "/v1/pro/auth/token",
        json={"email": "paula.pro@cinema.example.com", "password": body["password"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    principal = TokenVerifier.from_file(str(jwt_keys[1])).verify(token["access_token"])
    assert (principal.subject, principal.role) == (account["user"]["id"], "pro")

    offerers = await client.get(
        "/v1/pro/offerers", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert offerers.json() == {"items": [account["offerer"]], "next_page_token": None}


async def test_the_admin_logs_in_with_the_pro_endpoint_and_validates(
    client, admin_credentials, jwt_keys, problem
):
    created = (await client.post("/v1/pro/accounts", json=sign_up_body())).json()
    token = (await client.post("/v1/pro/auth/token", json=admin_credentials)).json()
    assert TokenVerifier.from_file(str(jwt_keys[1])).verify(token["access_token"]).role == "admin"
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    path = f"/v1/admin/offerers/{created['offerer']['id']}/validate"
    validated = await client.post(path, headers=headers)
    assert validated.status_code == 200, validated.text
    assert validated.json() == created["offerer"] | {"status": "VALIDATED"}
    again = await client.post(path, headers=headers)
    assert again.json()["status"] == "VALIDATED"

    unknown = await client.post(f"/v1/admin/offerers/{uuid.uuid4()}/validate", headers=headers)
    problem(unknown, 404, "OFFERER_NOT_FOUND")


async def test_wrong_password_and_unknown_email_are_the_same_401(client, pro, problem):
    wrong = await client.post(
        "/v1/pro/auth/token", json={"email": pro.email, "password": "wrong password"}
    )
    unknown = await client.post(
        "/v1/pro/auth/token", json={"email": "nobody", "password": "whatever1"}
    )
    assert problem(wrong, 401, "INVALID_CREDENTIALS") == problem(
        unknown, 401, "INVALID_CREDENTIALS"
    )


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"offerer": {"siren": "123456789", "name": "X"}}, 422, "INVALID_SIREN"),
        ({"offerer": {"siren": "12345678", "name": "X"}}, 422, "INVALID_SIREN"),
        ({"password": "short"}, 422, "PASSWORD_TOO_SHORT"),
        ({"email": "not-an-email"}, 422, "VALIDATION_ERROR"),
        ({"offerer": {"siren": 123456789, "name": "X"}}, 422, "VALIDATION_ERROR"),
        ({"offerer": None}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_invalid_sign_ups(client, problem, overrides, status, code):
    problem(await client.post("/v1/pro/accounts", json=sign_up_body(**overrides)), status, code)


async def test_email_and_siren_are_unique(client, pro, problem):
    taken_email = sign_up_body(email=pro.email)
    problem(await client.post("/v1/pro/accounts", json=taken_email), 409, "EMAIL_TAKEN")
    taken_siren = sign_up_body(offerer={"siren": pro.siren, "name": "Copy"})
    problem(await client.post("/v1/pro/accounts", json=taken_siren), 409, "OFFERER_EXISTS")
