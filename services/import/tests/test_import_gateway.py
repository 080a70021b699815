"""The Allociné endpoints of the HTTP contract (api.md), on a gateway app over the real import
service and catalog. (The gateway's own app registers this router; this test mounts it alone.)"""

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from fastapi import FastAPI

from gateway.errors import install_problem_handlers
from gateway.routes import pro_allocine
from gateway.settings import GatewaySettings
from gateway.upstreams import Importer
from pclib.auth import TokenVerifier
from tests.support.catalog_helpers import make_pro, make_venue, siret_of
from tests.support.import_helpers import load_feed, upcoming

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
async def http(importer, catalog_server, jwt_keys) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
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
    headers = {"Authorization": dict(pro.metadata)["authorization"]}
    return pro, venue, headers


async def test_settings_then_a_sync_through_http(http, importer, fake_allocine, pro_venue):
    _, venue, headers = pro_venue
    base = f"/v1/pro/venues/{venue.id}/allocine"
    assert (await http.get(base, headers=headers)).json()["code"] == "ALLOCINE_SETTINGS_NOT_FOUND"

    put = await http.put(
        base, headers=headers, json={"theater_id": "P0591", "price_cents": 690, "quantity": 100}
    )
    assert put.status_code == 200
    assert put.json() == {
        "venue_id": venue.id,
        "theater_id": "P0591",
        "theater_relay_id": "VGhlYXRlcjpQMDU5MQ==",
        "price_cents": 690,
        "quantity": 100,
        "is_duo": True,
        "enabled": True,
        "updated_at": put.json()["updated_at"],
    }
    assert put.json()["updated_at"].endswith("Z")
    assert (await http.get(base, headers=headers)).json() == put.json()

    fake_allocine.set_feed("P0591", upcoming(load_feed(FIXTURES / "sample-theater.json")))
    started = await http.post(f"{base}/syncs", headers=headers)
    assert started.status_code == 202
    assert started.json()["status"] in ("PENDING", "RUNNING")
    await importer.background.wait()
    listed = (await http.get(f"{base}/syncs", headers=headers)).json()
    assert listed["next_page_token"] is None
    (sync,) = listed["items"]
    assert {
        key: sync[key] for key in sync if key not in ("created_at", "started_at", "finished_at")
    } == {
        "id": started.json()["id"],
        "venue_id": venue.id,
        "status": "SUCCEEDED",
        "trigger": "ON_DEMAND",
        "offers_created": 2,
        "offers_updated": 0,
        "stocks_created": 4,
        "stocks_updated": 0,
        "showtimes_imported": 4,
        "showtimes_skipped": 4,
        "movies_rejected": 0,
        "error": None,
        "rejected_movies": [],
        "feed_unchanged": False,
    }
    assert sync["finished_at"].endswith("Z")


async def test_http_errors_follow_the_contract(http, catalog, issuer, pro_venue):
    pro, venue, headers = pro_venue
    base = f"/v1/pro/venues/{venue.id}/allocine"
    no_siret = await make_venue(catalog, pro, siret="")
    answer = await http.put(
        f"/v1/pro/venues/{no_siret.id}/allocine",
        headers=headers,
        json={"theater_id": "P0591", "price_cents": 690},
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "VENUE_WITHOUT_SIRET")
    assert answer.headers["content-type"] == "application/problem+json"

    zero = await http.put(base, headers=headers, json={"theater_id": "P0591", "price_cents": 0})
    assert (zero.status_code, zero.json()["code"]) == (422, "INVALID_PRICE")
    text_price = await http.put(
        base, headers=headers, json={"theater_id": "P0591", "price_cents": "690"}
    )
    assert (text_price.status_code, text_price.json()["code"]) == (422, "VALIDATION_ERROR")
    unknown = await http.put(
        base, headers=headers, json={"theater_id": "P0591", "price_cents": 690, "prix": 1}
    )
    assert unknown.status_code == 422

    other = await make_venue(catalog, pro, siret=siret_of(pro.siren, 2))
    await http.put(base, headers=headers, json={"theater_id": "P0591", "price_cents": 690})
    taken = await http.put(
        f"/v1/pro/venues/{other.id}/allocine",
        headers=headers,
        json={"theater_id": "P0591", "price_cents": 690},
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "THEATER_TAKEN")

    stranger = await make_pro(catalog, issuer)
    stranger_headers = {"Authorization": dict(stranger.metadata)["authorization"]}
    for method, path in (("GET", base), ("POST", f"{base}/syncs"), ("GET", f"{base}/syncs")):
        answer = await http.request(method, path, headers=stranger_headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "VENUE_NOT_FOUND")

    assert (await http.get(base)).status_code == 401
    young = {
        "Authorization": "Bearer "
        + issuer.issue("00000000-0000-0000-0000-000000000001", "beneficiary")
    }
    assert (await http.get(base, headers=young)).status_code == 403
