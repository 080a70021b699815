"""No password guessing through the gateway: wrong passwords are throttled per account and per
client address (429 TOO_MANY_ATTEMPTS with a growing Retry-After), the right password works
after the wait, and no answer tells whether an email has an account (same body, same time).

Each test speaks through a trusted proxy (the gateway's FORWARDED_ALLOW_IPS is the test client's
127.0.0.1) from an address of its own (X-Forwarded-For, a random IPv6 /64): the catalog's
database, where the counters live, is shared by the module's tests.
"""

import asyncio
import contextlib
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from catalog.settings import CatalogSettings
from tests.support.catalog_helpers import running_catalog

PASSWORD = "correct horse battery"
TOKEN_PATH = "/v1/pro/auth/token"
# The most the median time of an unknown email's answer may differ from a known one's, as a
# fraction of it (an answer without a password hash takes a small fraction: the negative control).
TIMING_TOLERANCE = 0.3


def an_address() -> dict[str, str]:
    """The forwarded header of a client address no other test uses."""
    return {"X-Forwarded-For": f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::1"}


def a_new_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@cinema.example.com"


@pytest.fixture
def pro_gateway(catalog_engine, verifier, gateway_settings, client_with):
    """`async with pro_gateway(**sign_in_settings) as http`: a gateway behind a trusted proxy,
    in front of a catalog with these sign-in settings."""

    @contextlib.asynccontextmanager
    async def start(**sign_in) -> AsyncIterator[httpx.AsyncClient]:
        settings = CatalogSettings(**sign_in)
        async with running_catalog(catalog_engine, verifier, settings) as (address, _):
            update = {"catalog_addr": address, "forwarded_allow_ips": "127.0.0.1"}
            async with client_with(gateway_settings.model_copy(update=update)) as http:
                yield http

    return start


async def tries(http, email: str, password: str, client: dict, count: int) -> list:
    return [
        await http.post(TOKEN_PATH, json={"email": email, "password": password}, headers=client)
        for _ in range(count)
    ]


def checked_at_most_once_per_wait(answers: list[httpx.Response], elapsed: float) -> None:
    """Five wrong passwords answered 401, then 429s: a password is checked again only once a
    wait has passed (1 s, then 2 s, 4 s…: a slow machine may see the first pass)."""
    statuses = [answer.status_code for answer in answers]
    assert statuses[:6] == [401] * 5 + [429], statuses
    assert set(statuses) == {401, 429}
    checked_again = statuses.count(401) - 5
    assert 2**checked_again - 1 <= elapsed, (statuses, elapsed)


def too_many(answer: httpx.Response, problem) -> int:
    """The seconds a 429 TOO_MANY_ATTEMPTS says to wait (its Retry-After)."""
    body = problem(answer, 429, "TOO_MANY_ATTEMPTS")
    assert body["retry_after_seconds"] == answer.headers["retry-after"]
    return int(answer.headers["retry-after"])


async def test_thirty_wrong_passwords_in_a_row_then_the_right_one_after_the_wait(
    pro_gateway, api, problem
):
    pro = await api.sign_up()
    client = an_address()
    async with pro_gateway() as http:
        started = time.monotonic()
        answers = await tries(http, pro.email, "wrong password", client, 30)
        checked_at_most_once_per_wait(answers, time.monotonic() - started)
        [right] = await tries(http, pro.email, PASSWORD, client, 1)
        if right.status_code == 429:  # still waiting (unless the last wait just ended)
            await asyncio.sleep(too_many(right, problem))
            [right] = await tries(http, pro.email, PASSWORD, client, 1)
        assert right.status_code == 200, right.text
        assert right.json()["refresh_token"]

        unknown = await tries(http, a_new_email(), "wrong password", an_address(), 1)
        for wrong in answers[:5]:
            assert problem(wrong, 401, "INVALID_CREDENTIALS") == unknown[0].json()
        retry_after = [too_many(answer, problem) for answer in answers if answer.status_code == 429]
        assert retry_after[0] == 1


async def test_negative_control_with_a_very_high_limit_the_same_burst_gets_401s_only(
    pro_gateway, api
):
    pro = await api.sign_up()
    lenient = {"login_failures_per_account": 1000, "login_failures_per_address": 1000}
    async with pro_gateway(**lenient) as http:
        answers = await tries(http, pro.email, "wrong password", an_address(), 30)
    assert [answer.status_code for answer in answers] == [401] * 30


async def test_the_wait_doubles_at_each_further_failure(pro_gateway, api, problem):
    pro = await api.sign_up()
    client = an_address()
    async with pro_gateway(login_failures_per_account=2) as http:
        waits = []
        await tries(http, pro.email, "wrong password", client, 2)
        for _ in range(3):
            [refused] = await tries(http, pro.email, "wrong password", client, 1)
            waits.append(too_many(refused, problem))
            if len(waits) < 3:
                await asyncio.sleep(waits[-1])
                [after_the_wait] = await tries(http, pro.email, "wrong password", client, 1)
                problem(after_the_wait, 401, "INVALID_CREDENTIALS")
    assert waits == [1, 2, 4]


async def test_an_unknown_email_is_throttled_like_a_known_one(pro_gateway, api):
    pro = await api.sign_up()
    async with pro_gateway(login_failures_per_account=3) as http:
        known = await tries(http, pro.email, "wrong password", an_address(), 5)
        unknown = await tries(http, a_new_email(), "wrong password", an_address(), 5)
    summary = [(a.status_code, a.json(), a.headers.get("retry-after")) for a in known]
    assert summary == [(a.status_code, a.json(), a.headers.get("retry-after")) for a in unknown]
    assert [status for status, _, _ in summary] == [401, 401, 401, 429, 429]


async def test_one_address_guessing_many_accounts_waits(pro_gateway, api, problem):
    pro = await api.sign_up()
    guesser = an_address()
    async with pro_gateway(login_failures_per_address=3) as http:
        for _ in range(3):
            [wrong] = await tries(http, a_new_email(), "wrong password", guesser, 1)
            problem(wrong, 401, "INVALID_CREDENTIALS")
        # Even the right password of another account waits, from this address only.
        [from_the_guesser] = await tries(http, pro.email, PASSWORD, guesser, 1)
        assert too_many(from_the_guesser, problem) == 1
        [from_elsewhere] = await tries(http, pro.email, PASSWORD, an_address(), 1)
        assert from_elsewhere.status_code == 200, from_elsewhere.text


async def test_young_people_are_throttled_too(full_gateway_settings, client_with, bapi, problem):
    young = await bapi.sign_up_young(credit=False)
    client = an_address()
    trusted = full_gateway_settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    async with client_with(trusted) as http:
        answers = [
            await http.post(
                "/v1/auth/token",
                json={"email": young.email, "password": "wrong password"},
                headers=client,
            )
            for _ in range(7)
        ]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 2
    assert too_many(answers[-1], problem) == 1


async def seconds(call) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


async def test_unknown_and_known_emails_take_as_long(pro_gateway, api):
    pro = await api.sign_up()
    client = an_address()

    async def known(http):
        body = {"email": pro.email, "password": "wrong password"}
        assert (await http.post(TOKEN_PATH, json=body, headers=client)).status_code == 401

    async def unknown(http):
        body = {"email": a_new_email(), "password": "wrong password"}
        assert (await http.post(TOKEN_PATH, json=body, headers=client)).status_code == 401

    async def without_hashing(http):  # the same round trip to the catalog's database
        body = {"refresh_token": "made-up"}
        assert (await http.post("/v1/pro/auth/refresh", json=body)).status_code == 401

    lenient = {"login_failures_per_account": 1000, "login_failures_per_address": 1000}
    ratios: dict[str, list[float]] = {"unknown": [], "without hashing": []}
    async with pro_gateway(**lenient) as http:
        await known(http)  # warm-up
        # Each round times the three back to back, in turns first, and compares them with the
        # known email's: a slow spell of the machine falls on a whole round.
        for round_number in range(12):
            kinds = [known, unknown, without_hashing]
            kinds = kinds[round_number % 3 :] + kinds[: round_number % 3]
            times = {kind.__name__: await seconds(kind(http)) for kind in kinds}
            ratios["unknown"].append(times["unknown"] / times["known"])
            ratios["without hashing"].append(times["without_hashing"] / times["known"])
    unknown_ratio, fast_ratio = (statistics.median(values) for values in ratios.values())

    assert abs(unknown_ratio - 1) < TIMING_TOLERANCE, ratios
    # Negative control: an answer without a hash is told apart at this tolerance.
    assert 1 - fast_ratio > TIMING_TOLERANCE, ratios
