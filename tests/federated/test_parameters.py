"""The canonical encoding of model parameters: Datagora's decoder agrees byte for byte with the encoder the Flower
app runs (flower_app/datagora_fedavg/task.py), and damaged files are refused."""

from __future__ import annotations

import importlib.util
import struct
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import ValidationError
from datagora.federated.federation import APP_DIR
from datagora.federated.parameters import Parameters, decode


@pytest.fixture(scope="module")
def task() -> ModuleType:
    spec = importlib.util.spec_from_file_location("datagora_fedavg_task", APP_DIR / "datagora_fedavg" / "task.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=30, deadline=None)
@given(coef=st.lists(floats, min_size=1, max_size=40), intercept=floats)
def test_decoding_what_the_flower_app_encodes_gives_back_the_arrays_and_the_same_bytes(
    task: ModuleType, coef: list[float], intercept: float
) -> None:
    arrays = [np.array([coef]), np.array([intercept])]
    data = task.encode(arrays)
    params = decode(data)
    assert params.names == ("coef", "intercept")
    assert params.shapes == {"coef": (1, len(coef)), "intercept": (1,)}
    assert params.values["coef"] == tuple(coef)
    assert params.values["intercept"] == (intercept,)
    assert params.encode() == data
    assert params.hash == keccak256(data)


def test_a_changed_value_changes_the_hash(task: ModuleType) -> None:
    a = decode(task.encode([np.array([[0.5, -1.0]]), np.array([0.25])]))
    b = decode(task.encode([np.array([[0.5, -1.0000001]]), np.array([0.25])]))
    assert a.hash != b.hash


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04", "not a federated parameters file"),
        (b"DGFL1" + struct.pack("<I", 1) + struct.pack("<H", 4) + b"coef", "truncated or damaged"),
    ],
)
def test_damaged_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        decode(data)


def test_trailing_bytes_are_refused() -> None:
    good = Parameters(("intercept",), {"intercept": (1,)}, {"intercept": (0.5,)}).encode()
    with pytest.raises(ValidationError, match="trailing bytes"):
        decode(good + b"\x00")
