"""What the ServerApp and the ClientApp share: the model, an owner's partition, the canonical encoding of
parameters (the bytes whose Keccak-256 goes on chain; Datagora's `datagora.federated.parameters` decodes it)."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

PARAMETER_NAMES = ("coef", "intercept")
MAGIC = b"DGFL1"


def load_partition(path: str, label: str, positive: str = "") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """An owner's rows from its CSV file: features (float64), labels (int64: 1 where the label equals ``positive``
    when given, else the label read as a number), feature names in file order."""
    with Path(path).open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if label not in header:
            raise ValueError(f"the data file has no column {label!r}")
        li = header.index(label)
        rows = [r for r in reader if r]
    features = [h for i, h in enumerate(header) if i != li]
    x = np.array([[float(v) for i, v in enumerate(r) if i != li] for r in rows], dtype=np.float64)
    if positive:
        y = np.array([int(r[li].strip() == positive) for r in rows], dtype=np.int64)
    else:
        y = np.array([int(float(r[li])) for r in rows], dtype=np.int64)
    return x, y, features


def model(n_features: int, regularisation: float, epochs: int) -> LogisticRegression:
    """A logistic regression that starts from the parameters it is given (warm start)."""
    m = LogisticRegression(C=regularisation, max_iter=epochs, warm_start=True)
    m.classes_ = np.array([0, 1])
    m.coef_ = np.zeros((1, n_features))
    m.intercept_ = np.zeros(1)
    return m


def set_parameters(m: LogisticRegression, arrays: list[np.ndarray]) -> None:
    m.coef_ = np.asarray(arrays[0], dtype=np.float64).reshape(1, -1).copy()
    m.intercept_ = np.asarray(arrays[1], dtype=np.float64).reshape(1).copy()


def get_parameters(m: LogisticRegression) -> list[np.ndarray]:
    return [np.asarray(m.coef_, dtype=np.float64), np.asarray(m.intercept_, dtype=np.float64)]


def encode(arrays: list[np.ndarray]) -> bytes:
    """Canonical encoding: b"DGFL1", array count (u32), then per array in PARAMETER_NAMES order its name (u16 length
    + UTF-8), rank (u8), each dimension (u64) and its values as little-endian float64 in C order."""
    out = [MAGIC, struct.pack("<I", len(arrays))]
    for name, a in zip(PARAMETER_NAMES, arrays, strict=True):
        a = np.ascontiguousarray(a, dtype="<f8")
        raw = name.encode()
        out += [struct.pack("<H", len(raw)), raw, struct.pack("<B", a.ndim)]
        out += [struct.pack("<Q", d) for d in a.shape]
        out.append(a.tobytes(order="C"))
    return b"".join(out)
