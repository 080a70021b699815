"""The gRPC server bootstrap and its interceptors, on a generic service with no protos."""

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from pclib.auth import TokenIssuer, TokenVerifier, bearer_metadata, current_principal
from pclib.errors import NotFound
from pclib.grpc_client import error_info
from pclib.grpc_server import GrpcServer
from pclib.keys import ensure_key_pair
from tests.support.pclib_fixtures import eventually

SERVICE = "test.v1.EchoService"


async def echo(request: bytes, context) -> bytes:
    principal = current_principal()
    return (principal.role if principal else "anonymous").encode()


async def missing(request: bytes, context) -> bytes:
    raise NotFound("THING_NOT_FOUND", "no such thing", thing_id="42")


async def broken(request: bytes, context) -> bytes:
    raise RuntimeError("secret internals")


async def slow(request: bytes, context) -> bytes:
    await asyncio.sleep(0.5)
    return b"done"


async def items(request: bytes, context):
    principal = current_principal()
    for number in range(3):
        yield f"{principal.role if principal else 'anonymous'}:{number}".encode()


async def items_then_missing(request: bytes, context):
    yield b"first"
    raise NotFound("THING_NOT_FOUND", "no such thing")


def register(servicer, server: grpc.aio.Server) -> None:
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(function)
        for name, function in {
            "Echo": echo,
            "Missing": missing,
            "Broken": broken,
            "Slow": slow,
        }.items()
    }
    handlers["Items"] = grpc.unary_stream_rpc_method_handler(items)
    handlers["ItemsThenMissing"] = grpc.unary_stream_rpc_method_handler(items_then_missing)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    ensure_key_pair(folder / "private.pem", folder / "public.pem")
    return TokenIssuer.from_file(str(folder / "private.pem")), TokenVerifier.from_file(
        str(folder / "public.pem")
    )


@pytest.fixture
async def server(keys):
    server = GrpcServer([(register, None, SERVICE)], keys[1])
    port = await server.start(0, host="127.0.0.1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield server, channel
    await server.stop(0)


def call(channel: grpc.aio.Channel, method: str):
    return channel.unary_unary(f"/{SERVICE}/{method}")


def handled(method: str, code: str) -> float:
    labels = {"grpc_service": SERVICE, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def test_health_and_reflection(server):
    _, channel = server
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name async for r in responses for s in r.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


async def test_domain_errors_carry_their_reason(server):
    _, channel = server
    before = handled("Missing", "NOT_FOUND")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(channel, "Missing")(b"")
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    info = error_info(failure.value)
    assert (info.reason, info.message, info.metadata) == (
        "THING_NOT_FOUND",
        "no such thing",
        {"thing_id": "42"},
    )
    # Counted once the interceptor is done, which may be after the caller read the status.
    await eventually(lambda: handled("Missing", "NOT_FOUND") == before + 1, within=2)


async def test_unexpected_errors_are_internal_and_leak_nothing(server):
    _, channel = server
    before = handled("Broken", "INTERNAL")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(channel, "Broken")(b"")
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (failure.value.details() or "")
    await eventually(lambda: handled("Broken", "INTERNAL") == before + 1, within=2)


async def test_the_caller_is_authenticated_when_it_sends_a_token(server, keys):
    _, channel = server
    before = handled("Echo", "OK")
    assert await call(channel, "Echo")(b"") == b"anonymous"
    token = keys[0].issue("someone", "pro")
    assert await call(channel, "Echo")(b"", metadata=bearer_metadata(token)) == b"pro"
    assert handled("Echo", "OK") == before + 2
    for bad in ("Bearer not.a.jwt", "Basic abc", "Bearer"):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call(channel, "Echo")(b"", metadata=(("authorization", bad),))
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    expired = keys[0].issue("someone", "pro", ttl_seconds=-60)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(channel, "Echo")(b"", metadata=bearer_metadata(expired))
    assert error_info(failure.value).reason == "INVALID_TOKEN"


async def test_stopping_drains_calls_in_flight(keys):
    server = GrpcServer([(register, None, SERVICE)], keys[1])
    port = await server.start(0, host="127.0.0.1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        in_flight = asyncio.ensure_future(call(channel, "Slow")(b""))
        await asyncio.sleep(0.1)
        stopping = asyncio.create_task(server.stop(5))
        await asyncio.sleep(0.05)
        health = health_pb2_grpc.HealthStub(channel)
        try:
            answer = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
        except grpc.aio.AioRpcError:
            pass  # already refusing new calls: never SERVING again either way
        assert await in_flight == b"done"
        await stopping


def stream(channel: grpc.aio.Channel, method: str):
    return channel.unary_stream(f"/{SERVICE}/{method}")


async def test_streams_are_authenticated_and_counted(server, keys):
    _, channel = server
    before = handled("Items", "OK")
    assert [item async for item in stream(channel, "Items")(b"")] == [
        b"anonymous:0",
        b"anonymous:1",
        b"anonymous:2",
    ]
    token = keys[0].issue("someone", "pro")
    answers = stream(channel, "Items")(b"", metadata=bearer_metadata(token))
    assert [item async for item in answers] == [b"pro:0", b"pro:1", b"pro:2"]
    # A stream's status can reach the client before the server's generator has unwound.
    await eventually(lambda: handled("Items", "OK") == before + 2, within=2)

    refused = handled("Items", "UNAUTHENTICATED")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await anext(aiter(stream(channel, "Items")(b"", metadata=(("authorization", "Basic x"),))))
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(failure.value).reason == "INVALID_TOKEN"
    await eventually(lambda: handled("Items", "UNAUTHENTICATED") == refused + 1, within=2)


async def test_a_domain_error_ends_a_stream_with_its_reason(server):
    _, channel = server
    before = handled("ItemsThenMissing", "NOT_FOUND")
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        async for item in stream(channel, "ItemsThenMissing")(b""):
            received.append(item)
    assert received == [b"first"]
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(failure.value).reason == "THING_NOT_FOUND"
    await eventually(lambda: handled("ItemsThenMissing", "NOT_FOUND") == before + 1, within=2)
