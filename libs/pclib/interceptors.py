"""The server interceptor: Prometheus metrics, caller authentication, domain errors → gRPC status,
for unary-unary calls and unary-stream calls (whose handlers are async generators).
"""

from __future__ import annotations  # grpc's generic types are generic to type checkers only

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import grpc
import psycopg
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram
from psycopg_pool import PoolTimeout
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy.exc import DataError

from passculture.common.v1.reasons import Reason
from pclib.auth import Principal, TokenVerifier, reset_principal, set_principal
from pclib.errors import ERROR_DOMAIN, DomainError, InvalidArgument, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle an RPC on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# What a database outage raises, through SQLAlchemy or psycopg directly (connection lost or
# refused, the server shutting down, a pool with no connection to give in time).
OUTAGES = (
    sqlalchemy_errors.OperationalError,
    sqlalchemy_errors.InterfaceError,
    sqlalchemy_errors.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
)
OUTAGE_RETRY_AFTER_SECONDS = 2

Request = TypeVar("Request")
Response = TypeVar("Response")
if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Request, Response]
    # A unary-unary method's implementation, and a unary-stream one's (an async generator).
    Behavior = Callable[[Request, Context[Request, Response]], Awaitable[Response]]
    StreamBehavior = Callable[[Request, Context[Request, Response]], AsyncIterator[Response]]
    Handler = grpc.RpcMethodHandler[Request, Response]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler[Request, Response] | None]]


def _wrap(
    handler: Handler[Request, Response] | None,
    wrap: Callable[[Behavior[Request, Response]], Behavior[Request, Response]],
    wrap_stream: Callable[[StreamBehavior[Request, Response]], StreamBehavior[Request, Response]],
) -> Handler[Request, Response] | None:
    """Wraps a unary-unary or unary-stream handler's behavior; other kinds pass through."""
    if handler is None:
        return None
    # types-grpcio types a handler's behaviors for the synchronous server; under grpc.aio they
    # are coroutine functions and async generator functions.
    if handler.unary_unary is not None:
        behavior = cast("Behavior[Request, Response]", handler.unary_unary)
        return grpc.unary_unary_rpc_method_handler(
            wrap(behavior),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        stream_behavior = cast("StreamBehavior[Request, Response]", handler.unary_stream)
        return grpc.unary_stream_rpc_method_handler(
            wrap_stream(stream_behavior),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def _code(context: Context[Request, Response], default: grpc.StatusCode) -> grpc.StatusCode:
    """The status the call ended with (the aio context gives a StatusCode, an int, or None)."""
    code = context.code()
    if isinstance(code, int):
        return _CODES_BY_NUMBER.get(code, grpc.StatusCode.UNKNOWN)
    return code or default


def status_of(error: DomainError) -> grpc.Status:
    """The gRPC status of a domain error, with a google.rpc.ErrorInfo detail."""
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.ErrorInfo(
            reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
        )
    )
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=error.code.value[0], message=error.message, details=[detail])
    )
    return status


def _domain_error(error: Exception, method: str) -> DomainError | None:
    """What an exception stands for to the caller; None for a bug (logged by the caller)."""
    if isinstance(error, DomainError):
        return error
    if isinstance(error, OUTAGES):
        # The database is restarting, failing over or out of connections: not a bug, and
        # nothing was changed (the transaction rolled back): the caller may try again.
        log.warning("database unavailable in %s: %r", method, error)
        return Unavailable(
            Reason.SERVICE_UNAVAILABLE,
            "the service's database is unavailable, try again shortly",
            retry_after_seconds=OUTAGE_RETRY_AFTER_SECONDS,
        )
    if isinstance(error, DataError | psycopg.DataError):
        # PostgreSQL refused a value the checks let through (e.g. a NUL character, a radius so
        # small that its arithmetic underflows), through SQLAlchemy or psycopg directly.
        log.warning("invalid value in %s", method, exc_info=error)
        return InvalidArgument(Reason.INVALID_VALUE, "a value is not valid")
    return None


async def _abort(error: Exception, context: Context[Request, Response], method: str) -> NoReturn:
    """Ends the call with the status `error` stands for."""
    refusal = _domain_error(error, method)
    if refusal is not None:
        status = status_of(refusal)
        await context.abort(status.code, status.details, status.trailing_metadata)
    log.error("unexpected error in %s", method, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


def _authorization(context: Context[Request, Response]) -> str:
    """The call's `authorization` metadata ("" when absent)."""
    for name, value in context.invocation_metadata() or ():
        if name == "authorization" and isinstance(value, str):
            return value
    return ""


class _Method:
    """What every call of one method goes through: its metrics (the label children looked up
    once), domain errors → status (anything unexpected is logged and becomes INTERNAL), and
    the caller's bearer token → the current principal."""

    def __init__(self, full_method: str, verifier: TokenVerifier) -> None:
        self.name = full_method
        self._verifier = verifier
        service, _, method = full_method.lstrip("/").rpartition("/")
        self._handled = {
            code: HANDLED.labels(service, method, code.name) for code in grpc.StatusCode
        }
        self._seconds = {
            code: HANDLING_SECONDS.labels(service, method, code.name) for code in grpc.StatusCode
        }

    def principal(self, context: Context[Request, Response]) -> Principal | None:
        """The caller, from its bearer token; None when anonymous (each RPC decides, with
        pclib.auth.require_role). A token that is present but invalid is refused."""
        authorization = _authorization(context)
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(Reason.INVALID_TOKEN, "expected a Bearer token")
        return self._verifier.verify(token)

    def record(self, code: grpc.StatusCode, start: float) -> None:
        self._handled[code].inc()
        self._seconds[code].observe(time.perf_counter() - start)

    def unary(self, behavior: Behavior[Request, Response]) -> Behavior[Request, Response]:
        async def call(request: Request, context: Context[Request, Response]) -> Response:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            reset_token = None
            try:
                reset_token = set_principal(self.principal(context))
                response = await behavior(request, context)
                code = _code(context, grpc.StatusCode.OK)
                return response
            except grpc.aio.AbortError:
                code = _code(context, grpc.StatusCode.UNKNOWN)
                raise
            except Exception as error:
                code = getattr(_domain_error(error, self.name), "code", grpc.StatusCode.INTERNAL)
                await _abort(error, context, self.name)
            except BaseException:  # cancelled: the caller went away or gave up
                code = _code(context, grpc.StatusCode.CANCELLED)
                raise
            finally:
                if reset_token is not None:
                    reset_principal(reset_token)
                self.record(code, start)

        return call

    def stream(
        self, behavior: StreamBehavior[Request, Response]
    ) -> StreamBehavior[Request, Response]:
        async def call(
            request: Request, context: Context[Request, Response]
        ) -> AsyncIterator[Response]:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            reset_token = None
            try:
                reset_token = set_principal(self.principal(context))
                async for response in behavior(request, context):
                    yield response
                code = _code(context, grpc.StatusCode.OK)
            except grpc.aio.AbortError:
                code = _code(context, grpc.StatusCode.UNKNOWN)
                raise
            except Exception as error:
                code = getattr(_domain_error(error, self.name), "code", grpc.StatusCode.INTERNAL)
                await _abort(error, context, self.name)
            except BaseException:
                code = _code(context, grpc.StatusCode.CANCELLED)
                raise
            finally:
                if reset_token is not None:
                    reset_principal(reset_token)
                self.record(code, start)

        return call


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Metrics, errors and authentication for every call, in one wrapper per method, built on
    the method's first call and kept: a call then costs one function call, not three
    interceptors' closures rebuilt each time."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier
        self._handlers: dict[str, Handler[Any, Any] | None] = {}

    async def intercept_service(
        self,
        continuation: Continuation[Request, Response],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler[Request, Response] | None:
        method = handler_call_details.method
        if method not in self._handlers:
            wrapper = _Method(method, self._verifier)
            handler = await continuation(handler_call_details)
            self._handlers[method] = _wrap(handler, wrapper.unary, wrapper.stream)
        return self._handlers[method]


def server_interceptors(verifier: TokenVerifier) -> list[grpc.aio.ServerInterceptor]:
    return [ServiceInterceptor(verifier)]
