"""Operations: liveness, readiness against the upstreams, metrics, docs, settings."""

import uuid

import pydantic
import pytest

from gateway.settings import GatewaySettings


async def test_healthz(client):
    answer = await client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


async def test_readyz_follows_the_catalogs_health(client, catalog_server, pro, problem):
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    await catalog_server.stop()
    body = problem(await client.get("/readyz"), 503, "UPSTREAMS_NOT_READY")
    assert body["upstreams"] == ["catalog"]
    assert (await client.get("/healthz")).status_code == 200
    # Calls that need the catalog fail as 503 too, without internals.
    down = problem(await client.get("/v1/pro/venues", headers=pro.headers), 503, "UNAVAILABLE")
    assert "127.0.0.1" not in down["detail"]


async def test_a_slow_upstream_is_a_504(client_with, gateway_settings, problem):
    impatient = gateway_settings.model_copy(update={"upstream_timeout_seconds": 0.000_001})
    async with client_with(impatient) as client:
        answer = await client.get("/v1/offers", params={"latitude": 45.0, "longitude": 4.0})
    problem(answer, 504, "DEADLINE_EXCEEDED")


async def test_metrics_count_requests_by_route_template(client, pro):
    venue_id = str(uuid.uuid4())
    await client.get(f"/v1/pro/venues/{venue_id}", headers=pro.headers)
    await client.get(f"/no/such/{venue_id}")
    await client.get("/healthz")

    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert (
        'http_requests_total{method="GET",route="/v1/pro/venues/{venue_id}",status="404"} 1.0'
        in text
    )
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/healthz"} 1.0' in text
    assert "http_request_duration_seconds_bucket{" in text
    assert venue_id not in text


async def test_openapi_and_docs(client):
    spec = (await client.get("/openapi.json")).json()
    assert {
        "/v1/pro/accounts",
        "/v1/pro/auth/token",
        "/v1/pro/venues/{venue_id}",
        "/v1/pro/stocks/{stock_id}",
        "/v1/offers",
        "/v1/admin/offerers/{offerer_id}/validate",
    } <= spec["paths"].keys()
    venue_get = spec["paths"]["/v1/pro/venues/{venue_id}"]["get"]
    assert venue_get["security"] == [{"HTTPBearer": []}]
    assert "application/problem+json" in venue_get["responses"]["422"]["content"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_upstreams_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UPSTREAMS", "catalog")
    monkeypatch.setenv("CATALOG_ADDR", "catalog.internal:50051")
    assert GatewaySettings().upstream_addresses() == {"catalog": "catalog.internal:50051"}

    monkeypatch.setenv("UPSTREAMS", "catalog, booking")
    monkeypatch.setenv("BOOKING_ADDR", "booking.internal:50052")
    assert GatewaySettings().upstream_addresses() == {
        "catalog": "catalog.internal:50051",
        "booking": "booking.internal:50052",
    }

    monkeypatch.setenv("UPSTREAMS", "catalog, billing")
    with pytest.raises(pydantic.ValidationError, match="billing"):
        GatewaySettings()


def test_the_booking_service_is_an_upstream_by_default(monkeypatch):
    monkeypatch.delenv("UPSTREAMS", raising=False)
    monkeypatch.delenv("BOOKING_ADDR", raising=False)
    assert GatewaySettings().upstream_addresses()["booking"] == "127.0.0.1:50052"


async def test_a_bug_is_a_generic_500_problem(client_with, gateway_settings, pro, monkeypatch):
    def broken(offerer):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("gateway.catalog_views.offerer_out", broken)
    async with client_with(gateway_settings, raise_app_exceptions=False) as client:
        answer = await client.get("/v1/pro/offerers", headers=pro.headers)
        metrics = (await client.get("/metrics")).text
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "INTERNAL"
    assert "secret" not in answer.text
    assert 'http_requests_total{method="GET",route="/v1/pro/offerers",status="500"} 1.0' in metrics
