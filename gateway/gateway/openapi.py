"""OpenAPI tweaks: problem responses documented under `application/problem+json`, with the
codes each operation may answer (`problem_docs`)."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from gateway.errors import PROBLEM_MEDIA_TYPE
from gateway.schemas.common import ProblemOut

# FastAPI puts a response model's schema under application/json; `document_problems` moves it.
PROBLEM_RESPONSE: dict[str, Any] = {"model": ProblemOut, "content": {PROBLEM_MEDIA_TYPE: {}}}
# No catch-all ("4XX"): a status or code an operation does not list breaks its contract.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {}
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemOut"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
ProblemCodes = Callable[[APIRoute], dict[int, list[str]]]


def _move_problem_schemas(spec: dict[str, Any]) -> None:
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def problem_response(codes: list[str], described: dict[str, Any]) -> dict[str, Any]:
    """The response of a status: a problem whose `code` is one of `codes`."""
    listed = ", ".join(codes)
    description = described.get("description", "")
    schema = {"allOf": [PROBLEM_SCHEMA, {"properties": {"code": {"enum": codes}}}]}
    return {
        **described,
        "description": f"{description} (code: {listed})" if description else f"code: {listed}",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
    }


def _document_codes(spec: dict[str, Any], app: FastAPI, codes_of: ProblemCodes) -> None:
    for context in iter_route_contexts(app.routes):  # the routes of the included routers
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            responses = spec["paths"][context.path_format][method.lower()]["responses"]
            for status, codes in codes_of(route).items():
                response = problem_response(codes, responses.get(str(status), {}))
                if status in (429, 503):
                    response["headers"] = RETRY_AFTER
                responses[str(status)] = response


# The resources' ids (theater ids are Allociné's, not these).
UUID_NAMES = frozenset(
    {
        "id",
        "offerer_id",
        "venue_id",
        "offer_id",
        "stock_id",
        "beneficiary_id",
        "booking_id",
        "payment_id",
        "batch_id",
        "price_category_id",
        "user_id",
    }
)


def _is_id(name: str) -> bool:
    return name in UUID_NAMES


def _ids_are_uuids(spec: dict[str, Any]) -> None:
    """Every id is a UUID: in paths (a malformed one is a 404, like an unknown one) and answers."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and _is_id(parameter["name"]):
                    parameter["schema"]["format"] = "uuid"
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Out"):
            continue
        for field, value in schema.get("properties", {}).items():
            if _is_id(field) and value.get("type") == "string":
                value["format"] = "uuid"


def document_problems(app: FastAPI, codes_of: ProblemCodes) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # FastAPI keeps it: the next calls answer it
            _move_problem_schemas(schema)
            _document_codes(schema, app, codes_of)
            _ids_are_uuids(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
