"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/contract_fixtures.py), and the
Collaboration contract deployed once per module on the shared Registry (Gamma audited too, so Dave can join)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kits import compiled_contracts
from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
from tests.kits.contract_kit import STATUS_AUDITED, Deployment


@pytest.fixture(scope="session")
def collaboration_deployer() -> Any:
    return compiled_contracts.deployer("Collaboration.vy")


@pytest.fixture(scope="module")
def collab(deployment: Deployment, collaboration_deployer: Any) -> Any:
    """Collaboration.vy bound to the module's Registry; Gamma (Dave) audited as well."""
    with deployment.env.prank(deployment.supervisor.address):
        deployment.registry.set_status(deployment.gamma_id, STATUS_AUDITED)
    with deployment.env.prank(deployment.platform.address):
        return collaboration_deployer.deploy(deployment.registry.address)
