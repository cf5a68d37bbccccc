"""Each Datagora error's HTTP status and body (no chain needed)."""

from __future__ import annotations

import pytest

from datagora.api.auth import Unauthenticated
from datagora.api.client import RemoteError
from datagora.api.errors import error_body, status_of
from datagora.api.routers.deliveries import parse_range
from datagora.domain import errors as e


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Unauthenticated("x"), 401),
        (e.AccessDenied("x"), 403),
        (e.NotFoundError("x"), 404),
        (e.ValidationError("x"), 422),
        (e.CryptoError("x"), 400),
        (e.WrongKeyError("x"), 400),
        (e.NoveltyRefused("x", 3), 409),
        (e.TransactionReverted("market: wrong price", "buy"), 409),
        (e.ChainError("x"), 502),
        (e.DeploymentError("x"), 503),
        (e.StorageError("x"), 503),
        (e.DatagoraError("x"), 400),
        (RemoteError(409, "refused"), 409),
        (RemoteError(401, "peer refused our sign-in"), 502),
        (RemoteError(0, "unreachable"), 502),
    ],
)
def test_status_of_each_error(error: e.DatagoraError, status: int) -> None:
    assert status_of(error) == status
    assert error_body(error)["detail"]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=5-100", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=4-2", 10, None),  # invalid: ignored, whole content
        ("bytes=0-1,4-5", 10, None),  # several ranges: ignored
        ("items=0-1", 10, None),
        ("bytes=1_0-", 10, None),
        ("bytes=-", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-5", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(ValueError):
        parse_range(header, size)
