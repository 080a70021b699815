"""What the end-to-end tests share: talking to the gateway as its clients do."""

import httpx

from tests.support import pclib_fixtures as pclib_testing

PROBLEM = "application/problem+json"
WAIT_SECONDS = 20


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ok(answer_coroutine, status: int = 200) -> dict:
    answer = await answer_coroutine
    assert answer.status_code == status, answer.text
    return answer.json()


def problem(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


async def eventually(check, within: float = WAIT_SECONDS):
    """The check's first truthy answer, polled until `within` seconds (processes take longer
    than in-process servers: a longer default)."""
    return await pclib_testing.eventually(check, within)


async def token(http: httpx.AsyncClient, path: str, email: str, password: str) -> dict:
    """Signs in at `path`: the headers of the answered bearer token."""
    answer = await ok(http.post(path, json={"email": email, "password": password}))
    assert answer["token_type"] == "bearer"
    return bearer(answer["access_token"])
