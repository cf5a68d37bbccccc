"""Every error the node answers is an RFC 9457 problem details document (``application/problem+json``):
``{"type": "about:blank", "title": <HTTP reason>, "status": <code>, "detail": <message>}``, plus members some
errors add (``function`` for a reverted transaction, ``matching_token_id`` for a refused attestation, ``errors``
for invalid input: where and why, never the input itself). The status of a Datagora error is chosen by its class:

| error | status |
| --- | --- |
| ``Unauthenticated`` | 401 (with ``WWW-Authenticate: Bearer``) |
| ``TooManyRequests``, ``RateLimited`` | 429 (with ``Retry-After``) |
| ``DatasetRetired`` | 410 (plus ``token_id``) |
| ``PayloadTooLarge``, ``UnsupportedMediaType`` | 413, 415 |
| ``NotConfigured`` | 503 |
| ``Conflict`` | 409 |
| ``AccessDenied`` | 403 |
| ``NotFoundError`` | 404 |
| ``NoveltyRefused`` | 409 (plus ``matching_token_id``) |
| ``TransactionReverted`` | 409, detail = the contract's reason (``"market: wrong value"``) |
| ``ValidationError`` | 422 |
| ``CryptoError`` | 400 |
| ``RemoteError`` | the peer's 4xx status, 502 when the peer failed or refused this node's own sign-in |
| ``DeploymentError`` | 503 |
| ``ChainError`` | 502 |
| ``IntegrityError`` | 500 (a stored blob is corrupt: the node's fault) |
| ``StorageError`` | 503 |
| any other ``DatagoraError`` | 400 |

Invalid parameters or bodies (FastAPI's ``RequestValidationError``) are 422 with ``errors: [{loc, msg, type}]``;
Starlette's own errors (unknown path 404, method not allowed 405) and anything unexpected (500, no detail) take
the same shape. :data:`PROBLEM_SCHEMA` is the one OpenAPI schema of them all (see ``datagora.api.openapi``).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from datagora.api.auth import TooManyRequests, Unauthenticated
from datagora.api.client import RemoteError
from datagora.domain.errors import (
    AccessDenied,
    ChainError,
    Conflict,
    CryptoError,
    DatagoraError,
    DatasetRetired,
    DeploymentError,
    IntegrityError,
    NotFoundError,
    NoveltyRefused,
    RateLimited,
    StorageError,
    TransactionReverted,
    ValidationError,
)


class NotConfigured(DatagoraError):
    """The node lacks a setting the request needs (e.g. no platform URL to obtain attestations): 503."""


class PayloadTooLarge(ValidationError):
    """A request body exceeds the node's limit: 413."""


class UnsupportedMediaType(ValidationError):
    """A request body has the wrong ``Content-Type``: 415."""


PROBLEM_TYPE = "application/problem+json"
MAX_VALIDATION_ERRORS = 20
"""Validation errors listed in one answer; the rest are counted in ``detail``."""
log = logging.getLogger(__name__)
RFC9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}
"""Reason phrases RFC 9110 renamed (Python's ``HTTPStatus`` keeps the older ones)."""

STATUS: dict[type[DatagoraError], int] = {
    Unauthenticated: 401,
    TooManyRequests: 429,
    RateLimited: 429,
    DatasetRetired: 410,
    NotConfigured: 503,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    AccessDenied: 403,
    NotFoundError: 404,
    NoveltyRefused: 409,
    TransactionReverted: 409,
    ValidationError: 422,
    CryptoError: 400,
    DeploymentError: 503,
    ChainError: 502,
    IntegrityError: 500,
    StorageError: 503,
    DatagoraError: 400,
}


def status_of(exc: DatagoraError) -> int:
    """The HTTP status for ``exc``: the entry of its nearest class in :data:`STATUS`."""
    if isinstance(exc, RemoteError):
        return exc.status if 400 <= exc.status < 500 and exc.status != 401 else 502
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # pragma: no cover - DatagoraError is in STATUS


def error_body(exc: DatagoraError) -> dict[str, Any]:
    """The members a Datagora error adds to its problem document: ``detail`` and, for some, one more."""
    body: dict[str, Any] = {"detail": " ".join(str(exc).split()) or type(exc).__name__}
    if isinstance(exc, TransactionReverted):
        body["detail"] = exc.reason
        body["function"] = exc.function
    elif isinstance(exc, NoveltyRefused):
        body["matching_token_id"] = exc.matching_token_id
    elif isinstance(exc, DatasetRetired):
        body["token_id"] = exc.token_id
    return body


def problem(status: int, detail: str | None = None, **members: Any) -> dict[str, Any]:
    """An RFC 9457 problem details document for HTTP ``status``."""
    try:
        title = RFC9110_TITLES.get(status) or HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail if detail is not None else title
    body.update(members)
    return body


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


async def datagora_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatagoraError)
    status = status_of(exc)
    headers: dict[str, str] | None = None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, (TooManyRequests, RateLimited)):
        headers = {"Retry-After": str(exc.retry_after)}
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    body = error_body(exc)
    return problem_response(status, problem(status, body.pop("detail"), **body), headers)


def _clip(part: object) -> str | int:
    if isinstance(part, int):
        return part
    text = str(part)
    return text if len(text) <= 64 else text[:61] + "..."


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 naming where and why each value is invalid, never the value: the input could be huge (it would come
    back as large as it was sent) or not representable in JSON (``1e400`` parses as infinity)."""
    assert isinstance(exc, RequestValidationError)
    found = list(exc.errors())
    errors = [
        {
            "loc": [_clip(part) for part in error.get("loc", ())][:16],
            "msg": str(error.get("msg", ""))[:256],
            "type": str(error.get("type", ""))[:64],
        }
        for error in found[:MAX_VALIDATION_ERRORS]
    ]
    more = f" ({len(found) - MAX_VALIDATION_ERRORS} more not listed)" if len(found) > MAX_VALIDATION_ERRORS else ""
    return problem_response(422, problem(422, f"invalid request: see errors{more}", errors=errors))


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, method not allowed, body not parseable) as problem documents."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, problem(exc.status_code, detail), headers)


async def server_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered 500 without any detail of it."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem_response(500, problem(500, "the node failed to handle this request"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DatagoraError, datagora_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, server_error_handler)
