"""The catalog gRPC server as a separate process (`python -m catalog serve`)."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.paths import REPO_ROOT, python_path
from pclib.auth import TokenIssuer, bearer_metadata
from pclib.keys import ensure_key_pair

STARTUP_TIMEOUT_S = 30.0


@dataclass
class CatalogServer:
    pid: int
    address: str
    # Metadata of a booking-service caller (role "service").
    service_metadata: tuple[tuple[str, str], ...]
    db_pool_size: int
    # SQLAlchemy opens up to pool_size + max_overflow connections (pclib.db.make_engine).
    db_max_connections: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_token(workdir: Path) -> tuple[Path, str]:
    """A fresh key pair in workdir: (public key file, a "service" token signed with it)."""
    private_key, public_key = workdir / "jwt-private.pem", workdir / "jwt-public.pem"
    ensure_key_pair(private_key, public_key)
    return public_key, TokenIssuer.from_file(str(private_key)).issue("booking", "service")


async def wait_until_serving(address: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text()[-3000:]  # noqa: ASYNC240 (it is over)
                raise RuntimeError(f"catalog server exited:\n{tail}")
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"catalog server not serving after {STARTUP_TIMEOUT_S}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def catalog_server(
    database_url: str, workdir: Path, db_pool_size: int, profile_to: Path | None = None
) -> AsyncIterator[CatalogServer]:
    """The server, serving; `profile_to` runs it under cProfile, written there on exit."""
    public_key, token = service_token(workdir)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": python_path(),
        "DATABASE_URL": database_url,
        "GRPC_PORT": str(port),
        "METRICS_PORT": "0",
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "DB_POOL_SIZE": str(db_pool_size),
        "GRPC_DRAIN_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = workdir / "catalog-serve.log"
    with log.open("wb") as output:
        profiler = ["-m", "cProfile", "-o", str(profile_to)] if profile_to else []
        process = subprocess.Popen(  # noqa: ASYNC220, S603 (started once, before any load)
            [sys.executable, *profiler, "-m", "catalog", "serve"],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        address = f"127.0.0.1:{port}"
        await wait_until_serving(address, process, log)
        yield CatalogServer(
            pid=process.pid,
            address=address,
            service_metadata=bearer_metadata(token),
            db_pool_size=db_pool_size,
            db_max_connections=2 * db_pool_size,
        )
    finally:
        stop(process)
        errors = log.read_text()[-3000:]
        if "error" in errors.lower():
            print(f"catalog server log (tail):\n{errors}", file=sys.stderr)
