"""Fixtures of the ComputeJobs contract tests: the shared market ``deployment`` (tests/kits/contract_fixtures.py)
plus ComputeJobs, deployed by the platform once per module, and a dataset Alice (Acme, audited) owns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.kits import compiled_contracts
from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
from tests.kits.contract_kit import Deployment


@dataclass
class ComputeChain:
    """ComputeJobs beside the market deployment ``d``; ``token_id`` is Alice's dataset."""

    d: Deployment
    jobs: Any
    token_id: int

    def now(self) -> int:
        return int(self.d.env.evm.patch.timestamp)


@pytest.fixture(scope="session")
def compute_jobs_deployer() -> Any:
    return compiled_contracts.deployer("ComputeJobs.vy")


@pytest.fixture(scope="module")
def cc(deployment: Deployment, compute_jobs_deployer: Any) -> ComputeChain:
    d = deployment
    token_id = d.publish(d.alice, "tumours", approve_market=False)
    with d.env.prank(d.platform.address):
        jobs = compute_jobs_deployer.deploy(d.registry.address, d.catalog.address)
    return ComputeChain(d=d, jobs=jobs, token_id=token_id)
