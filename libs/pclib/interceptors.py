"""Server interceptors: Prometheus metrics, caller authentication, domain errors → gRPC status.

Order matters: metrics (outermost, sees the final code) → errors → auth (innermost). Each wraps
unary-unary calls and unary-stream calls (whose handlers are async generators).
"""

from __future__ import annotations  # grpc's generic types are generic to type checkers only

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DataError

from passculture.common.v1.reasons import Reason
from pclib.auth import Principal, TokenVerifier, reset_principal, set_principal
from pclib.errors import ERROR_DOMAIN, DomainError, InvalidArgument, Unauthenticated

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


def _split_method(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def _code_name(context: Context[Request, Response], default: grpc.StatusCode) -> str:
    """The status the call ended with (the aio context gives a StatusCode, an int, or None)."""
    code = context.code()
    if isinstance(code, int):
        code = _CODES_BY_NUMBER.get(code, grpc.StatusCode.UNKNOWN)
    return (code or default).name


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Continuation[Request, Response],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler[Request, Response] | None:
        service, method = _split_method(handler_call_details.method)

        def record(code: str, start: float) -> None:
            HANDLED.labels(service, method, code).inc()
            HANDLING_SECONDS.labels(service, method, code).observe(time.perf_counter() - start)

        def wrap(behavior: Behavior[Request, Response]) -> Behavior[Request, Response]:
            async def measured(request: Request, context: Context[Request, Response]) -> Response:
                start = time.perf_counter()
                code = "OK"
                try:
                    response = await behavior(request, context)
                    code = _code_name(context, grpc.StatusCode.OK)
                    return response
                except BaseException:
                    code = _code_name(context, grpc.StatusCode.UNKNOWN)
                    raise
                finally:
                    record(code, start)

            return measured

        def wrap_stream(
            behavior: StreamBehavior[Request, Response],
        ) -> StreamBehavior[Request, Response]:
            async def measured(
                request: Request, context: Context[Request, Response]
            ) -> AsyncIterator[Response]:
                start = time.perf_counter()
                code = "OK"
                try:
                    async for response in behavior(request, context):
                        yield response
                    code = _code_name(context, grpc.StatusCode.OK)
                except BaseException:
                    code = _code_name(context, grpc.StatusCode.UNKNOWN)
                    raise
                finally:
                    record(code, start)

            return measured

        return _wrap(await continuation(handler_call_details), wrap, wrap_stream)


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


async def _abort(error: Exception, context: Context[Request, Response], method: str) -> NoReturn:
    """Ends the call with the status `error` stands for."""
    if isinstance(error, DataError):
        # PostgreSQL refused a value the checks let through (e.g. a NUL character).
        log.warning("invalid value in %s", method, exc_info=error)
        error = InvalidArgument(Reason.INVALID_VALUE, "a value is not valid")
    if isinstance(error, DomainError):
        status = status_of(error)
        await context.abort(status.code, status.details, status.trailing_metadata)
    log.error("unexpected error in %s", method, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Domain errors become their status; anything unexpected is logged and becomes INTERNAL."""

    async def intercept_service(
        self,
        continuation: Continuation[Request, Response],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler[Request, Response] | None:
        method = handler_call_details.method

        def wrap(behavior: Behavior[Request, Response]) -> Behavior[Request, Response]:
            async def guarded(request: Request, context: Context[Request, Response]) -> Response:
                try:
                    return await behavior(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as error:
                    await _abort(error, context, method)

            return guarded

        def wrap_stream(
            behavior: StreamBehavior[Request, Response],
        ) -> StreamBehavior[Request, Response]:
            async def guarded(
                request: Request, context: Context[Request, Response]
            ) -> AsyncIterator[Response]:
                try:
                    async for response in behavior(request, context):
                        yield response
                except grpc.aio.AbortError:
                    raise
                except Exception as error:
                    await _abort(error, context, method)

            return guarded

        return _wrap(await continuation(handler_call_details), wrap, wrap_stream)


def _metadata_text(details: grpc.HandlerCallDetails, key: str) -> str:
    """A text metadata value of the call ("" when absent; binary keys end in -bin)."""
    for name, value in details.invocation_metadata or ():
        if name == key and isinstance(value, str):
            return value
    return ""


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Checks the caller's bearer token, if any, and makes it the current principal.

    Anonymous calls go through with no principal: each RPC decides (pclib.auth.require_role).
    A token that is present but invalid is refused here.
    """

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    def _principal(self, authorization: str) -> Principal | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(Reason.INVALID_TOKEN, "expected a Bearer token")
        return self._verifier.verify(token)

    async def intercept_service(
        self,
        continuation: Continuation[Request, Response],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler[Request, Response] | None:
        authorization = _metadata_text(handler_call_details, "authorization")

        def wrap(behavior: Behavior[Request, Response]) -> Behavior[Request, Response]:
            async def authenticated(
                request: Request, context: Context[Request, Response]
            ) -> Response:
                reset_token = set_principal(self._principal(authorization))
                try:
                    return await behavior(request, context)
                finally:
                    reset_principal(reset_token)

            return authenticated

        def wrap_stream(
            behavior: StreamBehavior[Request, Response],
        ) -> StreamBehavior[Request, Response]:
            async def authenticated(
                request: Request, context: Context[Request, Response]
            ) -> AsyncIterator[Response]:
                reset_token = set_principal(self._principal(authorization))
                try:
                    async for response in behavior(request, context):
                        yield response
                finally:
                    reset_principal(reset_token)

            return authenticated

        return _wrap(await continuation(handler_call_details), wrap, wrap_stream)


def server_interceptors(verifier: TokenVerifier) -> list[grpc.aio.ServerInterceptor]:
    return [MetricsInterceptor(), ErrorInterceptor(), AuthInterceptor(verifier)]
