"""End to end over HTTP, the gateway and the catalog as real processes (see conftest.stack), with
their default settings: a pro's session (refresh, reuse, logout), thirty wrong passwords in a
row, and a client that cannot escape the address throttle by forging X-Forwarded-For (the
gateway trusts no proxy unless FORWARDED_ALLOW_IPS says so)."""

import asyncio
import time

import httpx
import pytest
from e2e_helpers import PASSWORD, ok, problem, sign_up_pro

pytestmark = pytest.mark.e2e


async def sign_up(http: httpx.AsyncClient) -> str:
    return (await sign_up_pro(http))["user"]["email"]


async def sign_in(http: httpx.AsyncClient, email: str, password: str, **headers: str):
    return await http.post(
        "/v1/pro/auth/token", json={"email": email, "password": password}, headers=headers
    )


async def test_a_pro_refreshes_reuses_and_logs_out(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        email = await sign_up(http)
        first = await ok(sign_in(http, email, PASSWORD))
        assert 7 * 24 * 3600 - 5 <= first["refresh_expires_in"] <= 7 * 24 * 3600

        second = await ok(
            http.post("/v1/pro/auth/refresh", json={"refresh_token": first["refresh_token"]})
        )
        headers = {"Authorization": f"Bearer {second['access_token']}"}
        await ok(http.get("/v1/pro/offerers", headers=headers))

        for token in (first["refresh_token"], second["refresh_token"]):  # a reuse ends it all
            answer = await http.post("/v1/pro/auth/refresh", json={"refresh_token": token})
            problem(answer, 401, "INVALID_REFRESH_TOKEN")

        third = await ok(sign_in(http, email, PASSWORD))
        logout = await http.post(
            "/v1/pro/auth/logout", json={"refresh_token": third["refresh_token"]}
        )
        assert logout.status_code == 204
        answer = await http.post(
            "/v1/pro/auth/refresh", json={"refresh_token": third["refresh_token"]}
        )
        problem(answer, 401, "INVALID_REFRESH_TOKEN")


async def test_thirty_wrong_passwords_in_a_row(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        email = await sign_up(http)
        started = time.monotonic()
        answers = [await sign_in(http, email, "wrong password") for _ in range(30)]
        elapsed = time.monotonic() - started

        statuses = [answer.status_code for answer in answers]
        assert statuses[:6] == [401] * 5 + [429], statuses
        # A password is checked again only once a wait has passed (1 s, then 2 s…).
        assert 2 ** (statuses.count(401) - 5) - 1 <= elapsed, (statuses, elapsed)
        for answer in answers:
            if answer.status_code == 429:
                problem(answer, 429, "TOO_MANY_ATTEMPTS")
        assert answers[5].headers["retry-after"] == "1"

        right = await sign_in(http, email, PASSWORD)
        if right.status_code == 429:  # still waiting (unless the last wait just ended)
            await asyncio.sleep(
                int(problem(right, 429, "TOO_MANY_ATTEMPTS")["retry_after_seconds"])
            )
            right = await sign_in(http, email, PASSWORD)
        assert right.status_code == 200, right.text


async def test_a_forged_forwarded_header_does_not_escape_the_address_throttle(stack):
    """Twenty wrong passwords on twenty emails (an address's allowance), each claiming another
    client address: the gateway believes none of them, so the address waits."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        email = await sign_up(http)
        for number in range(20):
            forged = {"X-Forwarded-For": f"198.51.100.{number}"}
            guess = await sign_in(http, f"guess-{number}@x.example.com", "wrong", **forged)
            problem(guess, 401, "INVALID_CREDENTIALS")
        right = await sign_in(http, email, PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})
        problem(right, 429, "TOO_MANY_ATTEMPTS")
