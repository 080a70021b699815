"""Asyncio gRPC server bootstrap: health service, reflection, interceptors, graceful drain.

On SIGTERM the health status turns NOT_SERVING (so Kubernetes stops routing new calls), then
in-flight RPCs get `drain_seconds` to finish before the server stops.
"""

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from pclib.auth import TokenVerifier
from pclib.interceptors import server_interceptors

log = logging.getLogger(__name__)

# (add_XServicer_to_server, servicer instance, full service name); the servicer's type is the
# one the add function takes (Any: a tuple type cannot tie the two).
Registration = tuple[Callable[[Any, grpc.aio.Server], None], object, str]
# Clients balance calls over every address of a service (round robin over a headless Service's
# pods) but resolve those addresses only when a connection ends: closing each connection after
# a few minutes makes them find the pods a scale-up added.
SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
]


class GrpcServer:
    def __init__(self, registrations: Iterable[Registration], verifier: TokenVerifier) -> None:
        self._registrations = list(registrations)
        self.server = grpc.aio.server(
            interceptors=server_interceptors(verifier),
            options=SERVER_OPTIONS,
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        for add, servicer, _ in self._registrations:
            add(servicer, self.server)
        names = [name for _, _, name in self._registrations]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )

    @property
    def service_names(self) -> list[str]:
        return ["", *(name for _, _, name in self._registrations)]

    async def start(self, port: int, host: str = "[::]") -> int:
        """Starts serving; returns the bound port (useful with port 0)."""
        bound = self.server.add_insecure_port(f"{host}:{port}")
        await self.server.start()
        for name in self.service_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return bound

    async def stop(self, drain_seconds: float) -> None:
        for name in self.service_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(drain_seconds)


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def start_metrics_server(port: int) -> None:
    if port:
        start_http_server(port)
        log.info("metrics served", extra={"port": port})


async def serve_until_stopped(
    server: GrpcServer, port: int, drain_seconds: float, stop: asyncio.Event
) -> None:
    bound = await server.start(port)
    log.info("gRPC server started", extra={"port": bound, "services": server.service_names})
    await stop.wait()
    log.info("draining", extra={"drain_seconds": drain_seconds})
    await server.stop(drain_seconds)
    log.info("stopped")
