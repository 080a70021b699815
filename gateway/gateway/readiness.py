"""Readiness: every upstream answers its gRPC health check with SERVING."""

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING


async def _is_serving(channel: grpc.aio.Channel, timeout_seconds: float) -> bool:
    try:
        # health_pb2_grpc has no type stubs: name the answer's type.
        answer: health_pb2.HealthCheckResponse = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=timeout_seconds
        )
    except grpc.aio.AioRpcError:
        return False
    return answer.status == SERVING


async def failing_upstreams(
    channels: dict[str, grpc.aio.Channel], timeout_seconds: float
) -> list[str]:
    """The names of the upstreams that are not serving, checked concurrently."""
    names = list(channels)
    serving = await asyncio.gather(
        *(_is_serving(channels[name], timeout_seconds) for name in names)
    )
    return [name for name, ok in zip(names, serving, strict=True) if not ok]
