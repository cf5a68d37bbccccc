"""A participant: an Ethereum account plus its own encrypted blob store and local records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from datagora.crypto.keys import public_key_of
from datagora.domain.errors import NotFoundError
from datagora.fsutil import atomic_write_json
from datagora.home import ParticipantHome
from datagora.storage.blobstore import BlobStore


@dataclass
class Participant:
    """One party of a trade. ``home`` is its directory; :attr:`paths` names everything in it (the blob store,
    JSON records such as ``datasets/<content-hash>.json``: where the encrypted copy of each own dataset is,
    inbox, outbox, scratch space …)."""

    label: str
    account: LocalAccount
    home: Path

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = BlobStore(self.paths.blobs)

    @property
    def paths(self) -> ParticipantHome:
        """Every path of this participant's directory (:class:`~datagora.home.ParticipantHome`)."""
        return ParticipantHome(self.home)

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def public_key(self) -> bytes:
        """64-byte secp256k1 public key (the one published in Registry, used for ECIES)."""
        return public_key_of(bytes(self.account.key))

    @property
    def private_key(self) -> bytes:
        return bytes(self.account.key)

    def save_record(self, kind: str, key: str, record: dict[str, Any]) -> Path:
        """Write ``home/<kind>/<key>.json`` atomically."""
        return atomic_write_json(self.paths.record(kind, key), record)

    def load_record(self, kind: str, key: str) -> dict[str, Any]:
        """Read ``home/<kind>/<key>.json``; :class:`NotFoundError` when absent."""
        path = self.paths.record(kind, key)
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.label} holds no {kind[:-1]} record {key}") from exc
        return data
