"""Every error is a problem+json: bad input is a 422, never a 500; gRPC codes map to HTTP."""

import importlib
from enum import StrEnum
from pathlib import Path

import grpc
import pytest

import passculture
from gateway.errors import DEFAULT_RETRY_AFTER_SECONDS, REASON_TO_HTTP, problem_of_rpc_error
from passculture.booking.v1.reasons import Reason as BookingReason
from passculture.catalog.v1.reasons import Reason as CatalogReason
from passculture.common.v1.reasons import Reason as CommonReason
from passculture.payments.v1.reasons import Reason as PaymentsReason
from pclib.errors import (
    DomainError,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from pclib.interceptors import status_of


async def test_an_unknown_route_is_a_problem(client, problem):
    body = problem(await client.get("/v1/nowhere"), 404, "NOT_FOUND")
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_a_wrong_method_is_a_problem_with_allow(client, problem):
    answer = await client.delete("/v1/pro/venues")
    problem(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer.headers["allow"]


def post_json(client, path: str, content: bytes, headers: dict, content_type="application/json"):
    return client.post(path, content=content, headers=headers | {"content-type": content_type})


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": "Nope",', "application/json"),
        (b"not json at all", "application/json"),
        (b'{"title": "\xff\xfe"}', "application/json"),
        (b'{"title": "Lumiere"}', "text/plain"),
    ],
    ids=["truncated", "garbage", "not-utf8", "not-json-content-type"],
)
async def test_an_unreadable_body_is_a_422(api, pro, problem, content, content_type):
    venue = await api.create_venue(pro)
    answer = await post_json(
        api.http, f"/v1/pro/venues/{venue['id']}/offers", content, pro.headers, content_type
    )
    body = problem(answer, 422, "VALIDATION_ERROR")
    assert [error["field"] for error in body["errors"]] == ["body"]


async def test_wrong_types_and_missing_fields_are_listed(client, pro, problem):
    answer = await client.post(
        "/v1/pro/venues",
        json={"offerer_id": pro.offerer_id, "name": 12, "latitude": "48.8", "surprise": 1},
        headers=pro.headers,
    )
    body = problem(answer, 422, "VALIDATION_ERROR")
    fields = {error["field"] for error in body["errors"]}
    assert {"name", "latitude", "surprise", "address", "postal_code", "city"} <= fields
    assert all(error["message"] for error in body["errors"])


@pytest.mark.parametrize(
    "stock",
    [
        {"starts_at": "2031-01-15T20:00:00", "price_cents": 800},
        {"starts_at": "2031-01-15T20:00:00Z", "price_cents": "800"},
        {"starts_at": "2031-01-15T20:00:00Z", "price_cents": 8.5},
        {"starts_at": "2031-01-15T20:00:00Z", "price_cents": 800, "quantity": True},
        {"starts_at": "2031-01-15T20:00:00Z", "price_cents": 2**63},
        {"starts_at": "2031-01-15T20:00:00Z", "price_cents": 800, "features": ["VOST"]},
        {"starts_at": "0001-01-01T00:00:00+05:00", "price_cents": 800},
        {"starts_at": "tomorrow", "price_cents": 800},
        {"price_cents": 800},
    ],
    ids=[
        "naive",
        "string-int",
        "float",
        "bool-int",
        "int64-overflow",
        "feature",
        "before-year-1",
        "not-a-date",
        "missing",
    ],
)
async def test_bad_stocks_are_422(api, pro, problem, stock):
    venue = await api.create_venue(pro)
    offer = await api.create_offer(pro, venue["id"])
    answer = await api.http.post(
        f"/v1/pro/offers/{offer['id']}/stocks", json=stock, headers=pro.headers
    )
    problem(answer, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "a\\u0000b"}', b'{"title": "a\\ud800b"}'],
    ids=["nul", "lone-surrogate"],
)
async def test_text_that_cannot_be_stored_is_422(api, pro, problem, raw):
    venue = await api.create_venue(pro)
    answer = await post_json(api.http, f"/v1/pro/venues/{venue['id']}/offers", raw, pro.headers)
    body = problem(answer, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "title"


@pytest.mark.parametrize("page_size", ["0", "501", "-1", "ten"])
async def test_page_size_out_of_bounds_is_422(client, pro, problem, page_size):
    answer = await client.get(
        "/v1/pro/venues", params={"page_size": page_size}, headers=pro.headers
    )
    body = problem(answer, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "page_size"


async def test_a_bad_page_token_is_the_catalogs_422(client, pro, problem):
    answer = await client.get("/v1/pro/venues", params={"page_token": "zzz"}, headers=pro.headers)
    problem(answer, 422, "INVALID_PAGE_TOKEN")


async def test_catalog_reasons_become_codes(api, pro, problem):
    account = {
        "email": pro.email,
        "password": "correct horse battery",
        "first_name": "Paula",
        "last_name": "Pro",
        "offerer": {"siren": "123456789", "name": "Bad"},
    }
    problem(await api.http.post("/v1/pro/accounts", json=account), 422, "INVALID_SIREN")
    account["offerer"]["siren"] = pro.siren
    problem(await api.http.post("/v1/pro/accounts", json=account), 409, "EMAIL_TAKEN")


@pytest.mark.parametrize("venue_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_or_malformed_ids_are_404(client, pro, problem, venue_id):
    answer = await client.get(f"/v1/pro/venues/{venue_id}", headers=pro.headers)
    problem(answer, 404, "VENUE_NOT_FOUND")


# The mapping itself, on failures shaped as the services send them.


def rpc_error(error: DomainError) -> grpc.aio.AioRpcError:
    status = status_of(error)
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        details=status.details,
    )


class Undeclared(StrEnum):
    """Reasons no service declares (the gateway must still answer them)."""

    SOME_REASON = "SOME_REASON"
    SECRET_REASON = "SECRET_REASON"


def bare_rpc_error(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.INVALID_ARGUMENT, 422),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ],
)
def test_grpc_codes_map_to_http_statuses(code, status):
    error = DomainError(Undeclared.SOME_REASON, "what happened")
    error.code = code
    problem = problem_of_rpc_error(rpc_error(error))
    assert (problem.status, problem.code, problem.detail) == (
        status,
        "SOME_REASON",
        "what happened",
    )


def test_error_metadata_become_members_and_some_reasons_override_the_status():
    problem = problem_of_rpc_error(
        rpc_error(
            FailedPrecondition(
                BookingReason.BOOKING_CANCELLED,
                "cancelled",
                booking_id="b1",
                status="ignored",
                code="no",
            )
        )
    )
    assert problem.status == 410
    assert problem.code == "BOOKING_CANCELLED"
    assert problem.extra == {"booking_id": "b1"}  # never overriding the standard members


def test_throttling_carries_retry_after():
    problem = problem_of_rpc_error(
        rpc_error(ResourceExhausted(BookingReason.TOO_MANY_ATTEMPTS, retry_after_seconds=30))
    )
    assert problem.status == 429
    assert problem.headers == {"Retry-After": "30"}


def test_a_failure_without_reason_is_named_by_its_code_and_hides_details():
    problem = problem_of_rpc_error(
        bare_rpc_error(grpc.StatusCode.UNAVAILABLE, "failed to connect to 10.0.0.7:50051")
    )
    assert (problem.status, problem.code) == (503, "UNAVAILABLE")
    assert "10.0.0.7" not in problem.detail


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS]
)
def test_unexpected_upstream_failures_are_a_generic_502(code):
    error = NotFound(Undeclared.SECRET_REASON, "stack trace here")
    error.code = code
    problem = problem_of_rpc_error(rpc_error(error))
    assert (problem.status, problem.code) == (502, "BAD_GATEWAY")
    assert "stack" not in problem.detail


# The table: the HTTP contract's statuses of upstream failures.


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        # The exceptions: reasons whose status is not their gRPC code's.
        (grpc.StatusCode.FAILED_PRECONDITION, BookingReason.BOOKING_CANCELLED, 410),
        (grpc.StatusCode.FAILED_PRECONDITION, BookingReason.BOOKING_ALREADY_USED, 410),
        (grpc.StatusCode.FAILED_PRECONDITION, BookingReason.BOOKING_NOT_USED, 410),
        (grpc.StatusCode.PERMISSION_DENIED, BookingReason.BOOKING_REIMBURSED, 403),
        (grpc.StatusCode.PERMISSION_DENIED, BookingReason.BOOKING_NOT_YET_VALIDATABLE, 403),
        (grpc.StatusCode.PERMISSION_DENIED, BookingReason.NO_CREDIT, 403),
        (grpc.StatusCode.PERMISSION_DENIED, BookingReason.CREDIT_EXPIRED, 403),
        (grpc.StatusCode.FAILED_PRECONDITION, CatalogReason.INVITATION_EXPIRED, 410),
        (grpc.StatusCode.FAILED_PRECONDITION, CatalogReason.INVITATION_USED, 410),
        # Plain reasons: their code's status.
        (grpc.StatusCode.NOT_FOUND, CatalogReason.VENUE_NOT_FOUND, 404),
        (grpc.StatusCode.FAILED_PRECONDITION, BookingReason.SOLD_OUT, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, CatalogReason.LAST_MEMBER, 409),
        (grpc.StatusCode.INVALID_ARGUMENT, CommonReason.INVALID_PAGE_TOKEN, 422),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, BookingReason.TOO_MANY_ATTEMPTS, 429),
        (grpc.StatusCode.UNAVAILABLE, PaymentsReason.CATALOG_UNAVAILABLE, 503),
        # A reason no service declares keeps its code's status.
        (grpc.StatusCode.FAILED_PRECONDITION, Undeclared.SOME_REASON, 409),
        (grpc.StatusCode.NOT_FOUND, Undeclared.SOME_REASON, 404),
    ],
)
def test_the_status_of_a_reason(code, reason, status):
    error = DomainError(reason, "what happened")
    error.code = code
    problem = problem_of_rpc_error(rpc_error(error))
    assert (problem.status, problem.code) == (status, reason)


def test_the_exceptions_of_the_table_are_those_of_the_contract():
    assert set(REASON_TO_HTTP) == {
        BookingReason.BOOKING_CANCELLED,
        BookingReason.BOOKING_ALREADY_USED,
        BookingReason.BOOKING_NOT_USED,
        BookingReason.BOOKING_REIMBURSED,
        BookingReason.BOOKING_NOT_YET_VALIDATABLE,
        BookingReason.NO_CREDIT,
        BookingReason.CREDIT_EXPIRED,
        # Issue 13: a spent or expired invitation link is gone.
        CatalogReason.INVITATION_EXPIRED,
        CatalogReason.INVITATION_USED,
    }


def declared_reasons() -> dict[str, type[StrEnum]]:
    """Every `Reason` enum generated from the protos (passculture.<package>.v1.reasons)."""
    generated = (Path(root) for root in passculture.__path__)  # a namespace package
    return {
        module.parent.parent.name: importlib.import_module(
            f"passculture.{module.parent.parent.name}.v1.reasons"
        ).Reason
        for root in generated
        for module in root.glob("*/v1/reasons.py")
    }


def test_every_service_declares_reasons():
    assert {"catalog", "booking", "importer", "payments", "common"} <= set(declared_reasons())


@pytest.mark.parametrize("package", sorted(declared_reasons()))
def test_every_declared_reason_has_an_error_status_whatever_its_code(package):
    for reason in declared_reasons()[package]:
        for code in grpc.StatusCode:
            if code is grpc.StatusCode.OK:
                continue
            error = DomainError(reason, "what happened")
            error.code = code
            problem = problem_of_rpc_error(rpc_error(error))
            assert 400 <= problem.status <= 599, (reason, code)
            assert problem.code in (reason, "BAD_GATEWAY"), (reason, code)


def test_each_exception_of_the_table_is_declared_by_one_service_only():
    # The wire does not say which service sent a reason: another's homonym would share it.
    for reason in REASON_TO_HTTP:
        declaring = [package for package, enum in declared_reasons().items() if reason in set(enum)]
        assert len(declaring) == 1, (reason, declaring)


def test_an_outage_is_a_503_with_retry_after():
    """A service that cannot reach its database says how long to wait; a transport failure
    (the service itself unreachable) gets the gateway's default wait."""
    problem = problem_of_rpc_error(
        rpc_error(
            Unavailable(
                CommonReason.SERVICE_UNAVAILABLE, "database unavailable", retry_after_seconds=2
            )
        )
    )
    assert (problem.status, problem.code, problem.headers) == (
        503,
        "SERVICE_UNAVAILABLE",
        {"Retry-After": "2"},
    )
    bare = problem_of_rpc_error(bare_rpc_error(grpc.StatusCode.UNAVAILABLE, "connect failed"))
    assert (bare.status, bare.code) == (503, "UNAVAILABLE")
    assert bare.headers == {"Retry-After": str(DEFAULT_RETRY_AFTER_SECONDS)}
