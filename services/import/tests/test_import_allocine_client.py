"""The Allociné client over real HTTP against the fake server: bearer key, retries, limits."""

import pytest

from importer.allocine_client import AllocineClient, AllocineError, parse
from importer.fake_allocine import FakeAllocine

KEY = "client-test-key"
FEED = {"movieShowtimeList": {"totalCount": 0, "edges": []}}


@pytest.fixture
def fake():
    with FakeAllocine(None, KEY, hang_seconds=2.0) as server:
        server.set_feed("P0591", FEED)
        yield server


def client(fake, http, **options) -> AllocineClient:
    return AllocineClient(http, fake.url, KEY, backoff_seconds=0.01, **options)


@pytest.fixture
async def http():
    async with AllocineClient.http_client(timeout_seconds=0.3, connections=4) as http:
        yield http


async def test_the_feed_is_fetched_with_the_relay_id_and_the_key(fake, http):
    assert parse(await client(fake, http).showtimes("P0591")) == FEED
    assert fake.requests == {"P0591": 1}


async def test_transient_failures_are_retried_a_bounded_number_of_times(fake, http):
    fake.faults["P0591"] = "flaky:1"
    assert parse(await client(fake, http, retries=1).showtimes("P0591")) == FEED
    fake.faults["P0591"] = "500"
    with pytest.raises(AllocineError, match=r"HTTP 500 \(after 2 attempts\)"):
        await client(fake, http, retries=1).showtimes("P0591")
    assert fake.requests["P0591"] == 2 + 2


async def test_a_feed_larger_than_the_limit_is_refused(fake, http):
    with pytest.raises(AllocineError, match="larger than 10 bytes"):
        await client(fake, http, max_bytes=10).showtimes("P0591")


async def test_the_whole_fetch_has_a_budget(fake, http):
    fake.faults["P0591"] = "timeout"
    with pytest.raises(AllocineError, match="no usable answer from Allociné within"):
        await client(fake, http, retries=5, budget_seconds=0.5).showtimes("P0591")


async def test_an_unreachable_server_is_a_transient_failure(http):
    unreachable = AllocineClient(http, "http://127.0.0.1:9", KEY, retries=1, backoff_seconds=0.01)
    with pytest.raises(AllocineError, match=r"could not be reached \(ConnectError\).*2 attempts"):
        await unreachable.showtimes("P0591")


def test_an_answer_that_is_not_json_is_refused():
    with pytest.raises(AllocineError, match="not JSON"):
        parse(b"<html>")
    with pytest.raises(AllocineError, match="not JSON"):
        parse(b"\xff\xfe")
