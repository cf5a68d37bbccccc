"""Datagora errors as HTTP responses: ``{"detail": message}`` with a status chosen by the error's class.

| error | status |
| --- | --- |
| ``Unauthenticated`` | 401 (with ``WWW-Authenticate: Bearer``) |
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
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from datagora.api.auth import Unauthenticated
from datagora.api.client import RemoteError
from datagora.domain.errors import (
    AccessDenied,
    ChainError,
    Conflict,
    CryptoError,
    DatagoraError,
    DeploymentError,
    IntegrityError,
    NotFoundError,
    NoveltyRefused,
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


STATUS: dict[type[DatagoraError], int] = {
    Unauthenticated: 401,
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
    body: dict[str, Any] = {"detail": " ".join(str(exc).split()) or type(exc).__name__}
    if isinstance(exc, TransactionReverted):
        body["detail"] = exc.reason
        body["function"] = exc.function
    elif isinstance(exc, NoveltyRefused):
        body["matching_token_id"] = exc.matching_token_id
    return body


async def datagora_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatagoraError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DatagoraError, datagora_error_handler)
