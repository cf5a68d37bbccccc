"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/contract_fixtures.py), and those of
the UseRights contract tests: ``d`` (the module deployment with UseRights in the ``market`` slot, so the kit's
helpers ``pending``, ``approve``, ``assert_solvent`` ... address UseRights; ``deployment`` is the untouched one),
``cur`` (each test runs paid in ether and in DemoToken) and two hostile ERC-20s."""

from __future__ import annotations

import dataclasses

import pytest

from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
from tests.kits.contract_kit import Deployment
from tests.kits.currency_fixtures import cur, ether, false_token, fee_token  # noqa: F401


@pytest.fixture
def d(deployment: Deployment) -> Deployment:
    """The module deployment with UseRights in the ``market`` slot (see the module docstring)."""
    return dataclasses.replace(deployment, market=deployment.use_rights)
