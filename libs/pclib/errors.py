"""Domain errors, raised by services and turned into gRPC status by an interceptor.

The reason is a member of the raising service's `Reason` enum, generated from its
`passculture/<service>/v1/errors.proto` (shared ones: passculture.common.v1.reasons): its name
travels in a google.rpc.ErrorInfo and the gateway answers it as the problem+json `code`.
Metadata values travel as strings (e.g. `validatable_from`).
"""

from enum import StrEnum

import grpc

ERROR_DOMAIN = "passculture.app"


class DomainError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, reason: StrEnum, message: str = "", **metadata: object) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason
        self.metadata = {key: str(value) for key, value in metadata.items()}


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A dependency did not answer; the caller may retry later."""

    code = grpc.StatusCode.UNAVAILABLE
