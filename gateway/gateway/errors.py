"""Every error as RFC 9457 `application/problem+json`, and gRPC failures mapped to HTTP.

A problem is `{type, title, status, detail, code, ...extra}`; `code` is a stable UPPER_SNAKE
machine code: the upstream's ErrorInfo reason, else a name derived from the status.
"""

import logging
from collections.abc import Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from passculture.booking.v1.reasons import Reason as BookingReason
from passculture.catalog.v1.reasons import Reason as CatalogReason
from pclib.grpc_client import error_info

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "code"})


class ProblemCode(StrEnum):
    """The codes the gateway answers on its own (the others are the upstreams' reasons, the
    names of HTTP statuses and, for an upstream failure without a reason, of gRPC codes)."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    #: An upstream failed in a way it should not (INTERNAL, UNKNOWN, …): details stay private.
    BAD_GATEWAY = "BAD_GATEWAY"
    INTERNAL = "INTERNAL"
    #: The route's upstream is not among the gateway's UPSTREAMS.
    UPSTREAM_NOT_CONFIGURED = "UPSTREAM_NOT_CONFIGURED"
    UPSTREAMS_NOT_READY = "UPSTREAMS_NOT_READY"


# The HTTP status of an upstream failure: its gRPC code's (a code missing here is a 502)…
GRPC_TO_HTTP: Mapping[grpc.StatusCode, int] = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# … except these reasons, whose status the HTTP contract fixes otherwise. The wire does not say
# which service sent a reason: each of these is declared by one service only (tested).
REASON_TO_HTTP: Mapping[StrEnum, int] = {
    BookingReason.BOOKING_CANCELLED: 410,
    BookingReason.BOOKING_ALREADY_USED: 410,
    BookingReason.BOOKING_NOT_USED: 410,
    BookingReason.BOOKING_REIMBURSED: 403,
    BookingReason.BOOKING_NOT_YET_VALIDATABLE: 403,
    BookingReason.NO_CREDIT: 403,
    BookingReason.CREDIT_EXPIRED: 403,
    CatalogReason.INVITATION_EXPIRED: 410,
    CatalogReason.INVITATION_USED: 410,
}
_STATUS_BY_REASON_NAME = {reason.value: status for reason, status in REASON_TO_HTTP.items()}
# ErrorInfo metadata key that becomes a Retry-After header (with a 429).
# What a 503 without the upstream's own figure says (seconds).
DEFAULT_RETRY_AFTER_SECONDS = 2
RETRY_AFTER_KEY = "retry_after_seconds"


def http_status(code: grpc.StatusCode, reason: str) -> int | None:
    """The HTTP status of an upstream failure with this code and ErrorInfo reason (the wire's
    name, maybe empty); None for a code no upstream answers on purpose."""
    status = GRPC_TO_HTTP.get(code)
    if status is None:
        return None
    return _STATUS_BY_REASON_NAME.get(reason, status)


class Problem(Exception):
    """An error answered as problem+json; raise it from handlers and dependencies."""

    def __init__(
        self,
        status: int,
        code: str,  # a ProblemCode, an upstream's reason, the name of a status
        detail: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail or HTTPStatus(status).phrase
        self.headers = headers
        self.extra = {
            key: value for key, value in (extra or {}).items() if key not in STANDARD_MEMBERS
        }

    def response(self) -> JSONResponse:
        body = {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }
        return JSONResponse(
            body, status_code=self.status, headers=self.headers, media_type=PROBLEM_MEDIA_TYPE
        )


def problem_of_rpc_error(error: grpc.aio.AioRpcError) -> Problem:
    code = error.code()
    info = error_info(error)
    status = http_status(code, info.reason)
    if status is None:
        log.error("upstream failed", extra={"grpc_code": code.name, "details": error.details()})
        return Problem(502, ProblemCode.BAD_GATEWAY, "an upstream service failed")
    retry_after = info.metadata.get(RETRY_AFTER_KEY)
    if status == 503 and retry_after is None:  # an outage: the client may try again shortly
        retry_after = str(DEFAULT_RETRY_AFTER_SECONDS)
    headers = None if retry_after is None else {"Retry-After": retry_after}
    if not info.reason:  # a transport failure or an unexpected status: keep internals out
        log.warning("upstream call failed", extra={"grpc_code": code.name, "details": info.message})
        return Problem(status, code.name, headers=headers)
    return Problem(status, info.reason, info.message, headers=headers, extra=info.metadata)


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def _validation_error(error: Mapping[str, Any]) -> dict[str, str]:
    if error["type"] == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return {"field": "body", "message": f"invalid JSON: {reason}".rstrip(": ")}
    if isinstance(error.get("input"), bytes):  # FastAPI keeps a non-JSON body as bytes
        return {"field": "body", "message": "expected a JSON body (Content-Type: application/json)"}
    message: str = error["msg"].removeprefix("Value error, ")
    return {"field": _field(tuple(error["loc"])), "message": message}


def validation_problem(errors: list[dict[str, str]]) -> Problem:
    return Problem(
        422, ProblemCode.VALIDATION_ERROR, "the request is not valid", extra={"errors": errors}
    )


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return exc.response()


async def _on_rpc_error(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
    return problem_of_rpc_error(exc).response()


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return validation_problem([_validation_error(error) for error in exc.errors()]).response()


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8)
        return validation_problem([{"field": "body", "message": str(exc.detail)}]).response()
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else status.phrase
    return Problem(exc.status_code, status.name, detail, headers=exc.headers).response()


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return Problem(500, ProblemCode.INTERNAL, "an unexpected error occurred").response()


def install_problem_handlers(app: FastAPI) -> None:
    # The decorator's form: add_exception_handler's type wants handlers of any Exception.
    app.exception_handler(Problem)(_on_problem)
    app.exception_handler(grpc.aio.AioRpcError)(_on_rpc_error)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(StarletteHTTPException)(_on_http_error)
    app.exception_handler(Exception)(_on_unexpected_error)
