"""Operations: liveness, readiness (upstreams' gRPC health) and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.errors import Problem, ProblemCode
from gateway.openapi import problem_response
from gateway.readiness import failing_upstreams

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        503: problem_response(
            [ProblemCode.UPSTREAMS_NOT_READY], {"description": "An upstream is not serving"}
        )
    },
)
async def readyz(request: Request) -> dict[str, str]:
    """Every upstream service answers its gRPC health check; 503 otherwise."""
    state = request.app.state
    failing = await failing_upstreams(
        state.channels.by_name, state.settings.readiness_timeout_seconds
    )
    if failing:
        raise Problem(
            503,
            ProblemCode.UPSTREAMS_NOT_READY,
            f"not serving: {', '.join(failing)}",
            extra={"upstreams": failing},
        )
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
