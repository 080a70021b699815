"""The OpenAPI says what the API enforces: the shapes the services check, and the problem codes
of each operation (statuses from the gateway's one table, reasons from the RPCs each route
calls). The running API is held to it by tests/test_schemathesis.py."""

import re
import sys
from pathlib import Path

import grpc
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import problem_docs
from gateway.app import create_app
from gateway.schemas.common import NOT_BLANK
from gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "InvalidArgument": grpc.StatusCode.INVALID_ARGUMENT,
    "NotFound": grpc.StatusCode.NOT_FOUND,
    "AlreadyExists": grpc.StatusCode.ALREADY_EXISTS,
    "FailedPrecondition": grpc.StatusCode.FAILED_PRECONDITION,
    "PermissionDenied": grpc.StatusCode.PERMISSION_DENIED,
    "Unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "Unavailable": grpc.StatusCode.UNAVAILABLE,
}
RAISED = re.compile(rf"\b({'|'.join(KINDS)})\(\s*(?:common\.)?Reason\.([A-Z_]+)")


@pytest.fixture(scope="module")
def app(jwt_keys):
    settings = GatewaySettings(
        upstreams=(), jwt_private_key_file=str(jwt_keys[0]), jwt_public_key_file=str(jwt_keys[1])
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def spec(app) -> dict:
    return app.openapi()


def codes(spec: dict, method: str, path: str, status: int) -> list[str]:
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/problem+json"]["schema"]
    return schema["allOf"][1]["properties"]["code"]["enum"]


def test_each_operation_lists_its_problem_codes_by_status(spec):
    accounts = ("post", "/v1/pro/accounts")
    assert {"VALIDATION_ERROR", "INVALID_SIREN", "PASSWORD_TOO_SHORT"} <= set(
        codes(spec, *accounts, 422)
    )
    assert set(codes(spec, *accounts, 409)) == {
        "EMAIL_TAKEN",
        "OFFERER_EXISTS",
        "IDEMPOTENCY_KEY_REUSED",
    }
    assert "401" not in spec["paths"]["/v1/pro/accounts"]["post"]["responses"]  # anonymous
    # The table's exceptions move a reason to its own status: 410, not 409.
    use = ("post", "/v1/pro/countermarks/{countermark}/use")
    assert set(codes(spec, *use, 410)) == {"BOOKING_CANCELLED", "BOOKING_ALREADY_USED"}
    assert "BOOKING_ALREADY_USED" not in codes(spec, *use, 409)
    assert set(codes(spec, *use, 403)) >= {"FORBIDDEN", "BOOKING_NOT_YET_VALIDATABLE"}
    assert codes(spec, *use, 401) == ["UNAUTHENTICATED", "INVALID_TOKEN"]
    too_many = spec["paths"]["/v1/pro/countermarks/{countermark}/use"]["post"]["responses"]["429"]
    assert "Retry-After" in too_many["headers"]
    assert too_many["description"] == "code: TOO_MANY_ATTEMPTS"
    outage = spec["paths"]["/v1/bookings"]["post"]["responses"]["503"]
    assert set(codes(spec, "post", "/v1/bookings", 503)) == {
        "UPSTREAM_NOT_CONFIGURED",
        "SERVICE_UNAVAILABLE",
        "UNAVAILABLE",
        "CATALOG_UNAVAILABLE",
        "TICKETING_UNAVAILABLE",
    }
    assert "Retry-After" in outage["headers"]
    assert "INVALID_PAGE_TOKEN" in codes(spec, "get", "/v1/pro/bookings", 422)
    assert codes(spec, "get", "/readyz", 503) == ["UPSTREAMS_NOT_READY"]


def test_every_documented_rpc_is_one_a_route_calls(app):
    called = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            called.update(problem_docs.upstream_calls(context.original_route))
    assert called == set(problem_docs.UPSTREAM_REFUSALS)


def test_a_route_calling_an_undocumented_rpc_fails_the_build():
    async def endpoint(catalog: object) -> None:
        await catalog.offers.CloneOffer()  # type: ignore[attr-defined]

    route = APIRoute("/v1/pro/offers/{offer_id}/clone", endpoint, methods=["POST"])
    with pytest.raises(KeyError, match=r"offers\.CloneOffer"):
        problem_docs.problem_codes(route)


def _raised_by_services() -> dict[str, set[grpc.StatusCode]]:
    """Each reason the services raise by name, with the gRPC codes they raise it with."""
    raised: dict[str, set[grpc.StatusCode]] = {}
    for source in (ROOT / "services").glob("*/*/**/*.py"):
        if "/tests/" in str(source):
            continue
        for kind, reason in RAISED.findall(source.read_text()):
            raised.setdefault(reason, set()).add(KINDS[kind])
    return raised


def test_each_documented_reason_has_the_code_the_services_raise_it_with():
    raised = _raised_by_services()
    assert raised["INVALID_SIREN"] == {grpc.StatusCode.INVALID_ARGUMENT}  # the scan works
    checked = 0
    for rpc, refusals in problem_docs.UPSTREAM_REFUSALS.items():
        for refusal in refusals:
            for reason in refusal.reasons:
                if str(reason) in raised:  # else raised through a subclass or a mapping
                    assert refusal.grpc_code in raised[str(reason)], (rpc, reason)
                    checked += 1
    assert checked > 50


def test_not_blank_is_what_str_strip_keeps():
    not_blank = re.compile(NOT_BLANK)
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        assert bool(not_blank.search(char)) is not char.isspace(), hex(code_point)


def _property(spec: dict, model: str, name: str) -> dict:
    schema = spec["components"]["schemas"][model]["properties"][name]
    branches = schema.get("anyOf", [schema])
    return next(branch for branch in branches if branch.get("type") != "null")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_what_the_patterns_admit_passes_the_services_shape_checks(spec, data):
    from catalog.domain.identifiers import is_valid_siren, is_valid_siret
    from catalog.domain.venues import check_venue
    from importer.domain import theater_ids
    from payments.domain.bank_details import SEPA_BIC

    def admitted(model: str, name: str) -> str:
        pattern = _property(spec, model, name)["pattern"]
        return data.draw(st.from_regex(pattern, fullmatch=True).filter(lambda v: "\n" not in v))

    # The checksums are rules, not shapes: the length and the digits are the shape.
    siren = admitted("OffererIn", "siren")
    assert len(siren) == 9 and (is_valid_siren(siren) or siren.isdigit())
    siret = admitted("VenueIn", "siret")
    assert siret == "" or (len(siret) == 14 and (is_valid_siret(siret) or siret.isdigit()))
    check_venue(
        name="Le Champo",
        postal_code=admitted("VenueIn", "postal_code"),
        latitude=48.85,
        longitude=2.34,
        booking_email="cinema@example.com",
    )
    theater_ids.internal_id(admitted("AllocineSettingsIn", "theater_id"))
    assert SEPA_BIC.fullmatch(admitted("BankAccountIn", "bic"))


def test_ranges_and_lengths_are_the_services(spec):
    from booking.domain.sign_up import MIN_PASSWORD_LENGTH
    from catalog.domain import geo, offers, stocks
    from importer.domain import settings_rules

    assert _property(spec, "ProAccountIn", "password")["minLength"] == MIN_PASSWORD_LENGTH
    assert _property(spec, "BeneficiaryIn", "password")["minLength"] == MIN_PASSWORD_LENGTH
    price = _property(spec, "StockIn", "price_cents")
    assert (price["minimum"], price["maximum"]) == (0, stocks.MAX_PRICE_CENTS)
    quantity = _property(spec, "StockPatch", "quantity")
    assert (quantity["minimum"], quantity["maximum"]) == (0, stocks.MAX_QUANTITY)
    duration = _property(spec, "OfferIn", "duration_minutes")
    assert (duration["minimum"], duration["maximum"]) == (1, offers.MAX_DURATION_MINUTES)
    allocine_price = _property(spec, "AllocineSettingsIn", "price_cents")
    assert (allocine_price["minimum"], allocine_price["maximum"]) == (
        1,
        settings_rules.MAX_PRICE_CENTS,
    )
    latitude = _property(spec, "VenueIn", "latitude")
    assert (latitude["minimum"], latitude["maximum"]) == (-90, 90)
    radius = next(
        parameter["schema"]
        for parameter in spec["paths"]["/v1/offers"]["get"]["parameters"]
        if parameter["name"] == "radius_km"
    )
    assert (radius["exclusiveMinimum"], radius["maximum"]) == (0, geo.MAX_RADIUS_KM)
    assert _property(spec, "BookingIn", "quantity")["maximum"] == 2
    assert _property(spec, "BankAccountOut", "status")["const"] == "ACCEPTED"


def test_ids_are_uuids_but_theater_ids(spec):
    [venue_id] = spec["paths"]["/v1/pro/venues/{venue_id}"]["get"]["parameters"]
    assert venue_id["schema"]["format"] == "uuid"
    assert spec["components"]["schemas"]["BookingOut"]["properties"]["stock_id"]["format"] == "uuid"
    settings = spec["components"]["schemas"]["AllocineSettingsOut"]["properties"]
    assert "format" not in settings["theater_id"]
    assert settings["venue_id"]["format"] == "uuid"
