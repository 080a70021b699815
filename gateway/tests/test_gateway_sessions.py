"""Sessions through the gateway: the token answers carry a refresh token, /auth/refresh rotates
it (a reused one ends the session), /auth/logout ends it, and it expires; for pros and young
people alike."""

import asyncio

import pytest

from catalog.settings import CatalogSettings
from tests.support.catalog_helpers import running_catalog

PASSWORD = "correct horse battery"
WEEK = 7 * 24 * 3600
MONTH = 30 * 24 * 3600
PRO = "/v1/pro/auth"
YOUNG = "/v1/auth"


def bearer(answer: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {answer['access_token']}"}


async def sign_in(http, paths: str, email: str) -> dict:
    answer = await http.post(f"{paths}/token", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def refresh(http, paths: str, refresh_token: str):
    return await http.post(f"{paths}/refresh", json={"refresh_token": refresh_token})


def check_pair(answer, refresh_lasts: int) -> dict:
    """A token answer: a new pair, never cached."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    pair = answer.json()
    assert pair.keys() == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert (pair["token_type"], pair["expires_in"]) == ("bearer", 3600)
    assert refresh_lasts - 5 <= pair["refresh_expires_in"] <= refresh_lasts
    return pair


async def test_a_pro_refreshes_then_a_reused_token_ends_the_session(client, api, problem, verifier):
    pro = await api.sign_up()
    signed = await client.post(f"{PRO}/token", json={"email": pro.email, "password": PASSWORD})
    first = check_pair(signed, WEEK)

    second = check_pair(await refresh(client, PRO, first["refresh_token"]), WEEK)
    assert second["refresh_token"] != first["refresh_token"]
    principal = verifier.verify(second["access_token"])
    assert (principal.subject, principal.role) == (pro.user_id, "pro")
    assert (await client.get("/v1/pro/offerers", headers=bearer(second))).status_code == 200

    # The first refresh token again: a leak, or two clients racing. The session ends.
    reused = await refresh(client, PRO, first["refresh_token"])
    problem(reused, 401, "INVALID_REFRESH_TOKEN")
    problem(await refresh(client, PRO, second["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    # Another session of the same pro is not concerned.
    other = await sign_in(client, PRO, pro.email)
    check_pair(await refresh(client, PRO, other["refresh_token"]), WEEK)


async def test_an_admin_stays_an_admin_through_a_refresh(client, admin_credentials, verifier):
    signed = (await client.post(f"{PRO}/token", json=admin_credentials)).json()
    refreshed = check_pair(await refresh(client, PRO, signed["refresh_token"]), WEEK)
    assert verifier.verify(refreshed["access_token"]).role == "admin"


async def test_a_pro_logs_out(client, api, problem):
    pro = await api.sign_up()
    signed = await sign_in(client, PRO, pro.email)

    logout = await client.post(f"{PRO}/logout", json={"refresh_token": signed["refresh_token"]})
    assert (logout.status_code, logout.content) == (204, b"")

    problem(await refresh(client, PRO, signed["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    # The access token lasts until it expires (it is checked without any state).
    assert (await client.get("/v1/pro/offerers", headers=bearer(signed))).status_code == 200
    for token in (signed["refresh_token"], "made-up"):  # no error: nothing left to end
        again = await client.post(f"{PRO}/logout", json={"refresh_token": token})
        assert again.status_code == 204


async def test_a_young_person_refreshes_and_logs_out(booking_client, bapi, young, problem):
    first = check_pair(
        await booking_client.post(
            f"{YOUNG}/token", json={"email": young.email, "password": PASSWORD}
        ),
        MONTH,
    )
    second = check_pair(await refresh(booking_client, YOUNG, first["refresh_token"]), MONTH)
    me = await booking_client.get("/v1/me", headers=bearer(second))
    assert (me.status_code, me.json()["id"]) == (200, young.id)

    # A young person's refresh token is not a pro's.
    problem(
        await refresh(booking_client, PRO, second["refresh_token"]), 401, "INVALID_REFRESH_TOKEN"
    )

    logout = await booking_client.post(
        f"{YOUNG}/logout", json={"refresh_token": second["refresh_token"]}
    )
    assert logout.status_code == 204
    for token in (second["refresh_token"], first["refresh_token"]):
        problem(await refresh(booking_client, YOUNG, token), 401, "INVALID_REFRESH_TOKEN")


async def test_a_young_persons_reused_refresh_token_ends_the_session(
    booking_client, young, problem
):
    first = await sign_in(booking_client, YOUNG, young.email)
    second = check_pair(await refresh(booking_client, YOUNG, first["refresh_token"]), MONTH)
    problem(
        await refresh(booking_client, YOUNG, first["refresh_token"]), 401, "INVALID_REFRESH_TOKEN"
    )
    problem(
        await refresh(booking_client, YOUNG, second["refresh_token"]), 401, "INVALID_REFRESH_TOKEN"
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": None}, {"refresh_token": 12}, {"refresh_token": "x", "extra": 1}],
)
@pytest.mark.parametrize("path", [f"{PRO}/refresh", f"{PRO}/logout"])
async def test_a_malformed_body_is_a_422(client, problem, path, body):
    problem(await client.post(path, json=body), 422, "VALIDATION_ERROR")


async def test_a_refresh_token_expires(
    api, catalog_engine, verifier, gateway_settings, client_with
):
    pro = await api.sign_up()
    settings = CatalogSettings(refresh_token_ttl_seconds=3)
    async with (
        running_catalog(catalog_engine, verifier, settings) as (address, _),
        client_with(gateway_settings.model_copy(update={"catalog_addr": address})) as http,
    ):
        fresh = await sign_in(http, PRO, pro.email)
        check_pair(await refresh(http, PRO, fresh["refresh_token"]), 3)  # in time
        ageing = await sign_in(http, PRO, pro.email)
        assert 2 <= ageing["refresh_expires_in"] <= 3

        await asyncio.sleep(3.1)
        expired = await refresh(http, PRO, ageing["refresh_token"])
        assert (expired.status_code, expired.json()["code"]) == (401, "INVALID_REFRESH_TOKEN")
        assert expired.json()["detail"] == "invalid refresh token: expired"


async def test_the_openapi_documents_sessions_and_their_codes(client):
    spec = (await client.get("/openapi.json")).json()
    for paths in (PRO, YOUNG):
        token, refreshed, logout = (
            spec["paths"][f"{paths}/{name}"]["post"] for name in ("token", "refresh", "logout")
        )
        assert token["responses"]["401"]["description"].startswith("INVALID_CREDENTIALS")
        too_many = token["responses"]["429"]
        assert too_many["description"].startswith("TOO_MANY_ATTEMPTS")
        assert "Retry-After" in too_many["headers"]
        assert "application/problem+json" in too_many["content"]
        assert refreshed["responses"]["401"]["description"].startswith("INVALID_REFRESH_TOKEN")
        assert "204" in logout["responses"]
        for operation in (refreshed, logout):
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert body == "#/components/schemas/RefreshTokenIn"
    pair = spec["components"]["schemas"]["AccessTokenOut"]
    assert {"refresh_token", "refresh_expires_in"} <= set(pair["required"])
