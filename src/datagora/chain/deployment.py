"""The deployment manifest: where each Datagora contract lives on one chain.

One JSON file per chain, ``<home>/deployments/<chain id>.json``::

    {"chain_id": 31337, "block": 1,
     "contracts": {"Registry": {"address": "0x…", "block": 1}, "Catalog": {"address": "0x…", "block": 2}, …}}

``block`` is the first deployment block (where event scans start); each contract keeps its own, so a contract
added later (``datagora deploy --add NAME``) joins the manifest without touching the others. Files in the first
format (``{"chain_id", "addresses", "block"}``) are still read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagora.domain.errors import DeploymentError
from datagora.fsutil import atomic_write_json


@dataclass(frozen=True)
class Deployment:
    """Where the contract set lives on one chain: ``addresses`` by contract name, ``block`` of the first
    deployment transaction (where event scans start), ``blocks`` the deployment block of each contract."""

    chain_id: int
    addresses: dict[str, str]
    block: int
    blocks: dict[str, int] = field(default_factory=dict)

    def path(self, deployments_dir: Path) -> Path:
        return deployments_dir / f"{self.chain_id}.json"

    def with_contract(self, name: str, address: str, block: int) -> Deployment:
        """A copy with ``name`` added at ``address`` (deployed in ``block``); :class:`DeploymentError` when the
        manifest already holds ``name``."""
        if name in self.addresses:
            raise DeploymentError(f"{name} is already deployed at {self.addresses[name]} on chain {self.chain_id}")
        return Deployment(
            self.chain_id,
            {**self.addresses, name: address},
            min(self.block, block) if self.addresses else block,
            {**self.blocks, name: block},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "block": self.block,
            "contracts": {
                name: {"address": address, "block": self.blocks.get(name, self.block)}
                for name, address in self.addresses.items()
            },
        }

    def save(self, deployments_dir: Path) -> Path:
        """Write ``<deployments_dir>/<chain_id>.json`` atomically; returns its path."""
        return atomic_write_json(self.path(deployments_dir), self.to_json())

    @classmethod
    def from_json(cls, raw: Any, source: str = "deployment") -> Deployment:
        """Parse either manifest format; :class:`DeploymentError` when malformed."""
        try:
            chain_id = int(raw["chain_id"])
            if "contracts" in raw:
                entries = dict(raw["contracts"])
                addresses = {str(n): str(e["address"]) for n, e in entries.items()}
                blocks = {str(n): int(e["block"]) for n, e in entries.items()}
                block = int(raw.get("block", min(blocks.values(), default=0)))
            else:
                addresses = {str(n): str(a) for n, a in dict(raw["addresses"]).items()}
                block = int(raw["block"])
                blocks = dict.fromkeys(addresses, block)
            return cls(chain_id, addresses, block, blocks)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DeploymentError(f"{source} is malformed: {exc}") from exc

    @classmethod
    def load(cls, deployments_dir: Path, chain_id: int) -> Deployment:
        """Read the manifest for ``chain_id``; :class:`DeploymentError` when absent or malformed."""
        path = deployments_dir / f"{chain_id}.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise DeploymentError(
                f"no Datagora deployment recorded for chain {chain_id} in {path.parent}: run `datagora deploy`"
            ) from exc
        except (OSError, ValueError) as exc:
            raise DeploymentError(f"deployments file {path} is unreadable: {exc}") from exc
        deployment = cls.from_json(raw, f"deployments file {path}")
        if deployment.chain_id != chain_id:
            raise DeploymentError(f"deployments file {path} is for chain {deployment.chain_id}, not {chain_id}")
        return deployment
