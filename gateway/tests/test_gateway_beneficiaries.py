"""Young people through the gateway: sign-up, token, /v1/me and the credit an admin grants."""

import uuid

import pytest

from pclib.auth import TokenVerifier
from tests.support.booking_helpers import birth_date_for_age

PASSWORD = "correct horse battery"


async def test_sign_up_log_in_and_see_the_credit(bapi, jwt_keys, problem):
    body = bapi.young_body(email="Camille.Jeune@Example.com")
    answer = await bapi.http.post("/v1/beneficiaries", json=body)
    assert answer.status_code == 201, answer.text
    young = answer.json()
    assert young == {
        "id": young["id"],
        "email": "camille.jeune@example.com",
        "first_name": "Camille",
        "last_name": "Jeune",
        "birth_date": body["birth_date"],
        "phone_number": "+33600000000",
        "postal_code": "75011",
        "credit": None,
    }

    token = await bapi.http.post(
        "/v1/auth/token", json={"email": "camille.jeune@example.com", "password": PASSWORD}
    )
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "bearer"
    assert token.json()["expires_in"] == 3600
    access_token = token.json()["access_token"]
    principal = TokenVerifier.from_file(str(jwt_keys[1])).verify(access_token)
    assert (principal.subject, principal.role) == (young["id"], "beneficiary")
    headers = {"Authorization": f"Bearer {access_token}"}

    me = await bapi.http.get("/v1/me", headers=headers)
    assert (me.status_code, me.json()) == (200, young)

    credit = await bapi.grant_credit(young["id"])
    assert (credit["initial_cents"], credit["remaining_cents"]) == (30000, 30000)
    assert credit["expires_at"].endswith("Z")
    me = (await bapi.http.get("/v1/me", headers=headers)).json()
    assert me["credit"] == credit


async def test_the_token_of_a_young_person_opens_no_pro_door(bapi, young, problem):
    problem(await bapi.http.get("/v1/pro/venues", headers=young.headers), 403, "FORBIDDEN")
    problem(await bapi.http.get("/v1/pro/bookings", headers=young.headers), 403, "FORBIDDEN")


async def test_an_email_signs_up_once(bapi, young, problem):
    again = bapi.young_body(email=young.email.upper())
    problem(await bapi.http.post("/v1/beneficiaries", json=again), 409, "EMAIL_TAKEN")


async def test_wrong_password_and_unknown_email_are_the_same_401(bapi, young, problem):
    wrong = await bapi.http.post(
        "/v1/auth/token", json={"email": young.email, "password": "wrong password"}
    )
    unknown = await bapi.http.post(
        "/v1/auth/token", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert problem(wrong, 401, "INVALID_CREDENTIALS") == problem(
        unknown, 401, "INVALID_CREDENTIALS"
    )


async def test_a_pro_cannot_log_in_as_a_young_person(bapi, cinema, problem):
    answer = await bapi.http.post(
        "/v1/auth/token", json={"email": cinema.pro.email, "password": PASSWORD}
    )
    problem(answer, 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize(
    "overrides",
    [
        {"birth_date": "15/01/2007"},
        {"birth_date": "2007-02-30"},
        {"birth_date": 20070115},
        {"birth_date": None},
        {"email": "not-an-email"},
        {"first_name": 12},
        {"is_admin": True},
    ],
    ids=["date-format", "no-such-day", "number", "null", "email", "name-type", "unknown-field"],
)
async def test_invalid_sign_ups_are_422(bapi, problem, overrides):
    body = bapi.young_body() | overrides
    problem(await bapi.http.post("/v1/beneficiaries", json=body), 422, "VALIDATION_ERROR")


async def test_a_missing_birth_date_is_422(bapi, problem):
    body = bapi.young_body()
    del body["birth_date"]
    answer = problem(await bapi.http.post("/v1/beneficiaries", json=body), 422, "VALIDATION_ERROR")
    assert [error["field"] for error in answer["errors"]] == ["birth_date"]


async def test_phone_and_postal_code_are_optional(bapi):
    body = {
        key: value
        for key, value in bapi.young_body().items()
        if key not in ("phone_number", "postal_code")
    }
    answer = await bapi.http.post("/v1/beneficiaries", json=body)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["phone_number"], answer.json()["postal_code"]) == ("", "")


async def test_the_credit_is_granted_once(bapi, young, problem):
    path = f"/v1/admin/beneficiaries/{young.id}/credit"
    problem(await bapi.http.post(path, headers=bapi.admin_headers), 409, "ALREADY_GRANTED")


@pytest.mark.parametrize("age", [17, 19])
async def test_the_credit_is_for_18_year_olds_only(bapi, problem, age):
    young = await bapi.sign_up_young(age=age, credit=False)
    path = f"/v1/admin/beneficiaries/{young.id}/credit"
    problem(await bapi.http.post(path, headers=bapi.admin_headers), 422, "NOT_ELIGIBLE")
    me = (await bapi.http.get("/v1/me", headers=young.headers)).json()
    assert me["credit"] is None
    assert me["birth_date"] == birth_date_for_age(age).isoformat()


async def test_the_credit_of_an_unknown_beneficiary_is_404(bapi, problem):
    path = f"/v1/admin/beneficiaries/{uuid.uuid4()}/credit"
    problem(await bapi.http.post(path, headers=bapi.admin_headers), 404, "BENEFICIARY_NOT_FOUND")
