"""Container health check for Docker Compose (Kubernetes uses its native gRPC/HTTP probes).

python /app/deploy/healthcheck.py grpc PORT   the standard gRPC health service answers SERVING
python /app/deploy/healthcheck.py http PORT PATH   an HTTP GET answers 2xx
"""

import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 2.0


def grpc_serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT_SECONDS
        ) as answer:
            return 200 <= answer.status < 300
    except OSError:
        return False


def main(argv: list[str]) -> int:
    kind, port = argv[0], int(argv[1])
    healthy = grpc_serving(port) if kind == "grpc" else http_ok(port, argv[2])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
