"""The node's OpenAPI document, with every error response described once.

FastAPI documents what a route declares; the errors a node answers come from shared places (sign-in and role
dependencies, the body limit, validation, the chain), so they are added here, for every operation, from what the
operation's own description shows:

| status | documented on |
| --- | --- |
| 400 | every operation but ``/health`` (a request the node cannot use, e.g. not decryptable) |
| 401, 403 | operations that take a session (``security``) |
| 404 | every operation but ``/health`` (unknown id, or a service this node does not run) |
| 409 | operations that change state (not ``GET``): a contract refused the transaction, a conflicting state |
| 413, 415 | operations with a request body |
| 422 | operations with parameters or a request body |
| 502, 503 | every operation but ``/health`` (the chain, another node, a missing setting) |

Each is an RFC 9457 problem document (``application/problem+json``, the ``Problem`` schema), which replaces
FastAPI's own 422 schema. A route may still declare a status itself (its description is kept); a declared
response without a body (``/deliveries``' empty 401, 403 and 416) stays without one. New routes get all of this
without doing anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from datagora.api.errors import PROBLEM_TYPE, RFC9110_TITLES

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the problem type; about:blank for plain HTTP."},
        "title": {"type": "string", "description": "The HTTP status's reason phrase."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "function": {"type": "string", "description": "The contract function a refused transaction called."},
        "matching_token_id": {"type": "integer", "description": "The dataset a refused attestation matches."},
        "errors": {
            "type": "array",
            "description": "Invalid parameters: where (loc) and why (msg, type), never the value sent.",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    400: "The request cannot be used (e.g. not decryptable)",
    401: "Not signed in, or the session ended (WWW-Authenticate: Bearer)",
    403: "Signed in, but without the role this needs",
    404: "Unknown resource, or a service this node does not run",
    409: "Refused by a contract or by the resource's state",
    413: "Request body larger than this route accepts",
    415: "Request body of the wrong media type",
    422: "Invalid parameters or body",
    429: "Too many requests (Retry-After)",
    502: "The chain or another node failed",
    503: "The node lacks a setting or its store is unavailable",
}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    if path.endswith("/health"):
        return set()
    statuses = {400, 404, 502, 503}
    if operation.get("security"):
        statuses |= {401, 403}
    if method != "get":
        statuses.add(409)
    if "requestBody" in operation:
        statuses |= {413, 415, 422}
    if operation.get("parameters"):
        statuses.add(422)
    return statuses


def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or DESCRIPTIONS.get(status) or RFC9110_TITLES.get(status, "Error"),
        "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses (module docstring) to every operation of ``schema`` and the ``Problem`` schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for code in list(responses):
                status = int(code) if code.isdigit() else 0
                declared = responses[code]
                if status < 400:
                    continue
                if "content" not in declared:
                    continue  # documented as answered without a body
                schemas = [c.get("schema") or {} for c in declared["content"].values()]
                if any(schemas) and not _is_fastapi_422(declared):
                    continue  # a body of the route's own
                responses[code] = _problem_response(status, declared.get("description"))
            for status in sorted(_statuses(path, method, operation)):
                responses.setdefault(str(status), _problem_response(status))
    return schema


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"))


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with every error response described (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
