"""OpenAPI tweaks: problem responses documented under `application/problem+json`."""

from typing import Any

from fastapi import FastAPI

from gateway.errors import PROBLEM_MEDIA_TYPE
from gateway.schemas.common import ProblemOut

# FastAPI puts a response model's schema under application/json; `document_problems` moves it.
PROBLEM_RESPONSE: dict[str, Any] = {"model": ProblemOut, "content": {PROBLEM_MEDIA_TYPE: {}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {**PROBLEM_RESPONSE, "description": "Validation error"},
    "4XX": PROBLEM_RESPONSE,
}


def _move_problem_schemas(spec: dict[str, Any]) -> None:
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # FastAPI keeps it: the next calls answer it
            _move_problem_schemas(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
