"""Client side of gRPC calls between processes: channels and reading a failure's ErrorInfo."""

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status.rpc_status import GRPC_DETAILS_METADATA_KEY

from passculture.common.v1.reasons import Reason
from pclib.errors import DomainError, PermissionDenied, Unauthenticated

# Keepalive and retry-friendly defaults for long-lived channels between services; calls spread
# over every address the name resolves to (each pod of a headless Kubernetes Service).
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.enable_retries", 1),
    ("grpc.lb_policy_name", "round_robin"),
]


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)


@dataclass(frozen=True)
class ErrorInfo:
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)


def error_info(error: grpc.aio.AioRpcError) -> ErrorInfo:
    """The reason and metadata a service attached to a failed call (empty reason if none)."""
    for key, value in error.trailing_metadata() or ():
        if key != GRPC_DETAILS_METADATA_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return ErrorInfo(info.reason, status.message, dict(info.metadata))
    return ErrorInfo("", error.details() or "", {})


def caller_refused(error: grpc.aio.AioRpcError) -> DomainError | None:
    """A call made with the caller's own token, refused for the caller (its role: FORBIDDEN;
    its token: INVALID_TOKEN or UNAUTHENTICATED), as the relaying service answers it; None when
    the failure is another."""
    info = error_info(error)
    if error.code() == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(Reason.FORBIDDEN, info.message)
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        invalid = info.reason == Reason.INVALID_TOKEN
        return Unauthenticated(
            Reason.INVALID_TOKEN if invalid else Reason.UNAUTHENTICATED, info.message
        )
    return None
