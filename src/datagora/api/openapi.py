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
| 410 | operations on a dataset, listing or order (an id in the path, or a body naming one): it was retired |
| 413, 415 | operations with a request body |
| 422 | operations with parameters or a request body |
| 502, 503 | every operation but ``/health`` (the chain, another node, a missing setting) |

Each is an RFC 9457 problem document (``application/problem+json``, the ``Problem`` schema), which replaces
FastAPI's own 422 schema. A route may still declare a status itself (its description is kept); a declared
response without a body (``/deliveries``' empty 401, 403 and 416) stays without one. New routes get all of this
without doing anything.
"""

from __future__ import annotations

import re
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
        "token_id": {"type": "integer", "description": "The retired dataset (410)."},
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
    410: "The dataset was retired by its owner",
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
        statuses |= {410, 413, 415, 422}
    if any(f"{{{name}}}" in path for name in ("token_id", "listing_id", "order_id")):
        statuses.add(410)
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


LINKED_IDS = ("token_id", "listing_id", "order_id", "organisation_id")
"""Identifiers an operation's response may hand to another operation's path parameter of the same name."""


def _id_pointers(
    schema: dict[str, Any], components: dict[str, Any], prefix: str = "", depth: int = 0
) -> dict[str, str]:
    """JSON pointers (``/order/order_id``) to the :data:`LINKED_IDS` properties of a response schema."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    found: dict[str, str] = {}
    for name, sub in (schema.get("properties") or {}).items():
        if name in LINKED_IDS and name not in found:
            found[name] = f"{prefix}/{name}"
        elif depth < 1 and isinstance(sub, dict):
            for key, pointer in _id_pointers(sub, components, f"{prefix}/{name}", depth + 1).items():
                found.setdefault(key, pointer)
    return found


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI links from each operation that creates something (its 2xx body names an id) to every operation
    taking that id as a path parameter: ``POST /orders`` → ``/orders/{order_id}/…``, ``/deliveries/{order_id}``…
    Clients and stateful testers follow them."""
    components = schema.get("components", {}).get("schemas", {})
    takers: dict[str, list[tuple[str, str]]] = {}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS or "operationId" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") in LINKED_IDS:
                    takers.setdefault(parameter["name"], []).append((operation["operationId"], f"{method} {path}"))
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("post", "put"):
                continue
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                body = response.get("content", {}).get("application/json", {}).get("schema")
                if not body:
                    continue
                for name, pointer in _id_pointers(body, components).items():
                    if f"{{{name}}}" in path:
                        continue  # the id came in with the request: nothing new to follow
                    for operation_id, label in takers.get(name, []):
                        link_name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")  # [a-zA-Z0-9._-]+
                        response.setdefault("links", {})[link_name] = {
                            "operationId": operation_id,
                            "parameters": {name: f"$response.body#{pointer}"},
                        }
    return schema


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"))


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with every error response described (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(
                document_errors(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        openapi_version=app.openapi_version,
                        summary=app.summary,
                        description=app.description,
                        routes=app.routes,
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
