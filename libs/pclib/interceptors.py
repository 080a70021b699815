"""Server interceptors: Prometheus metrics, caller authentication, domain errors → gRPC status.

Order matters: metrics (outermost, sees the final code) → errors → auth (innermost). Each wraps
unary-unary calls and unary-stream calls (whose handlers are async generators).
"""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

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

Behavior = Callable[[object, grpc.aio.ServicerContext], Awaitable[object]]
StreamBehavior = Callable[[object, grpc.aio.ServicerContext], AsyncIterator[object]]


def _wrap(
    handler: grpc.RpcMethodHandler | None,
    wrap: Callable[[Behavior], Behavior],
    wrap_stream: Callable[[StreamBehavior], StreamBehavior],
) -> grpc.RpcMethodHandler | None:
    """Wraps a unary-unary or unary-stream handler's behavior; other kinds pass through."""
    if handler is None:
        return None
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary), **serializers)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            wrap_stream(handler.unary_stream), **serializers
        )
    return handler


def _split_method(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def _code_name(context: grpc.aio.ServicerContext, default: grpc.StatusCode) -> str:
    """The status the call ended with (the aio context gives a StatusCode, an int, or None)."""
    code = context.code()
    if isinstance(code, int):
        code = _CODES_BY_NUMBER.get(code, grpc.StatusCode.UNKNOWN)
    return (code or default).name


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        service, method = _split_method(handler_call_details.method)

        def record(code: str, start: float) -> None:
            HANDLED.labels(service, method, code).inc()
            HANDLING_SECONDS.labels(service, method, code).observe(time.perf_counter() - start)

        def wrap(behavior: Behavior) -> Behavior:
            async def measured(request, context):
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

        def wrap_stream(behavior: StreamBehavior) -> StreamBehavior:
            async def measured(request, context):
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
    return rpc_status.to_status(
        status_pb2.Status(code=error.code.value[0], message=error.message, details=[detail])
    )


async def _abort(error: Exception, context: grpc.aio.ServicerContext, method: str) -> None:
    """Ends the call with the status `error` stands for (never returns)."""
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

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method

        def wrap(behavior: Behavior) -> Behavior:
            async def guarded(request, context):
                try:
                    return await behavior(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as error:
                    await _abort(error, context, method)

            return guarded

        def wrap_stream(behavior: StreamBehavior) -> StreamBehavior:
            async def guarded(request, context):
                try:
                    async for response in behavior(request, context):
                        yield response
                except grpc.aio.AbortError:
                    raise
                except Exception as error:
                    await _abort(error, context, method)

            return guarded

        return _wrap(await continuation(handler_call_details), wrap, wrap_stream)


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

    async def intercept_service(self, continuation, handler_call_details):
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorization = metadata.get("authorization", "")

        def wrap(behavior: Behavior) -> Behavior:
            async def authenticated(request, context):
                reset_token = set_principal(self._principal(authorization))
                try:
                    return await behavior(request, context)
                finally:
                    reset_principal(reset_token)

            return authenticated

        def wrap_stream(behavior: StreamBehavior) -> StreamBehavior:
            async def authenticated(request, context):
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
