"""Model parameters as they travel out of a federated round: the canonical encoding the Flower app writes
(``flower_app/datagora_fedavg/task.py``), decoded here without Flower, and its Keccak-256 hash (the
``aggregate_hash`` a requester records on chain for each federated round).

Encoding (all integers little-endian): ``b"DGFL1"``, the number of arrays (u32), then per array its name (u16
length + UTF-8), its rank (u8), each dimension (u64) and its values as IEEE-754 float64 in C order. For the
logistic regression the arrays are ``coef`` (1 × features) and ``intercept`` (1).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import ValidationError

MAGIC: Final = b"DGFL1"


@dataclass(frozen=True)
class Parameters:
    """Named arrays of float64: ``shapes[name]`` and ``values[name]`` (flat, C order)."""

    names: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    values: dict[str, tuple[float, ...]]

    def encode(self) -> bytes:
        """The canonical encoding (see the module docstring)."""
        out = [MAGIC, struct.pack("<I", len(self.names))]
        for name in self.names:
            raw = name.encode()
            shape = self.shapes[name]
            out += [struct.pack("<H", len(raw)), raw, struct.pack("<B", len(shape))]
            out += [struct.pack("<Q", d) for d in shape]
            out.append(struct.pack(f"<{len(self.values[name])}d", *self.values[name]))
        return b"".join(out)

    @property
    def hash(self) -> bytes:
        """Keccak-256 (32 bytes) of :meth:`encode`."""
        return keccak256(self.encode())


def decode(data: bytes) -> Parameters:
    """Parse the canonical encoding. Raises :class:`ValidationError` when ``data`` is not one (wrong magic,
    truncated, trailing bytes)."""
    if not data.startswith(MAGIC):
        raise ValidationError("not a federated parameters file")
    try:
        pos = len(MAGIC)
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        names: list[str] = []
        shapes: dict[str, tuple[int, ...]] = {}
        values: dict[str, tuple[float, ...]] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = data[pos : pos + length].decode()
            pos += length
            (rank,) = struct.unpack_from("<B", data, pos)
            pos += 1
            shape = struct.unpack_from(f"<{rank}Q", data, pos)
            pos += 8 * rank
            n = math.prod(shape)
            values[name] = struct.unpack_from(f"<{n}d", data, pos)
            pos += 8 * n
            names.append(name)
            shapes[name] = tuple(int(d) for d in shape)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValidationError("the federated parameters file is truncated or damaged") from exc
    if pos != len(data):
        raise ValidationError("the federated parameters file has trailing bytes")
    return Parameters(tuple(names), shapes, values)
