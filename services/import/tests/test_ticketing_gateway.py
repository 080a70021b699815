"""The ticketing link endpoints of the HTTP contract, on a gateway app over the real import
service and catalog (the gateway's own app registers this router; this test mounts it alone)."""

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from fastapi import FastAPI

from gateway.errors import install_problem_handlers
from gateway.routes import pro_allocine, pro_ticketing
from gateway.settings import GatewaySettings
from gateway.upstreams import Importer
from pclib.auth import TokenVerifier
from tests.support.catalog_helpers import make_pro, make_venue


@pytest.fixture
async def http(importer, catalog_server, jwt_keys) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(pro_ticketing.router)
    app.include_router(pro_allocine.router)
    app.state.settings = GatewaySettings(
        upstreams=("catalog",),
        catalog_addr=catalog_server[0],
        jwt_private_key_file=str(jwt_keys[0]),
        jwt_public_key_file=str(jwt_keys[1]),
    )
    app.state.token_verifier = TokenVerifier.from_file(str(jwt_keys[1]))
    async with grpc.aio.insecure_channel(importer.address) as channel:
        app.state.importer = Importer.on(channel)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture
async def pro_venue(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    return venue, {"Authorization": dict(pro.metadata)["authorization"]}


LINK = {"system": "BOOST", "cinema_id": "cine-2", "account_id": "vendor", "secret": "s3cret!"}


async def test_link_put_read_and_deleted_through_http(http, pro_venue, caplog):
    venue, headers = pro_venue
    base = f"/v1/pro/venues/{venue.id}/ticketing"
    missing = await http.get(base, headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "TICKETING_LINK_NOT_FOUND")

    put = await http.put(base, headers=headers, json=LINK)
    assert put.status_code == 200
    assert put.json() == {
        "venue_id": venue.id,
        "system": "BOOST",
        "cinema_id": "cine-2",
        "account_id": "vendor",
        "updated_at": put.json()["updated_at"],
    }
    assert (await http.get(base, headers=headers)).json() == put.json()
    assert "s3cret!" not in caplog.text

    allocine = await http.put(
        f"/v1/pro/venues/{venue.id}/allocine",
        headers=headers,
        json={"theater_id": "P0591", "price_cents": 690},
    )
    assert (allocine.status_code, allocine.json()["code"]) == (409, "VENUE_LINKED_TO_TICKETING")

    assert (await http.delete(base, headers=headers)).status_code == 204
    assert (await http.delete(base, headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"system": "CGR"}, 422, "VALIDATION_ERROR"),
        ({"cinema_id": "a/b"}, 422, "INVALID_TICKETING_ACCOUNT"),
        ({"secret": ""}, 422, "INVALID_TICKETING_SECRET"),
        ({"extra": 1}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_bad_links_are_problems(http, pro_venue, change, status, code):
    venue, headers = pro_venue
    answer = await http.put(
        f"/v1/pro/venues/{venue.id}/ticketing", headers=headers, json=LINK | change
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert "s3cret!" not in answer.text
