"""Fixtures of this layer's tests, shared across capabilities (see tests/kits/contract_fixtures.py), and those of
the UseRights contract tests: ``d`` (the module deployment with UseRights in the ``market`` slot, so the kit's
helpers ``pending``, ``approve``, ``assert_solvent`` ... address UseRights; ``deployment`` is the untouched one),
``cur`` (each test runs paid in ether and in DemoToken) and two hostile ERC-20s."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.kits.contract_fixtures import *  # noqa: F403
from tests.kits.contract_fixtures import _isolate  # noqa: F401
from tests.kits.contract_kit import TOKEN_START_BALANCE, Deployment
from tests.market.contracts.market_helpers import Currency


@pytest.fixture
def d(deployment: Deployment) -> Deployment:
    """The module deployment with UseRights in the ``market`` slot (see the module docstring)."""
    return dataclasses.replace(deployment, market=deployment.use_rights)


@pytest.fixture(params=["ether", "token"])
def cur(request: pytest.FixtureRequest, d: Deployment, demo_token: Any) -> Currency:
    """Each test using it runs twice: paid in ether, and in DemoToken (Alice, Bob and Carol approve UseRights)."""
    if request.param == "ether":
        return Currency(d, None)
    for actor in (d.alice, d.bob, d.carol):
        d.approve(demo_token, actor)
    return Currency(d, demo_token)


@pytest.fixture
def false_token(d: Deployment, helper_deployer: Any) -> Any:
    """An ERC-20 that returns false instead of reverting (once told to); Alice and Bob hold and approve it."""
    token = helper_deployer("FalseToken.vy").deploy()
    for actor in (d.alice, d.bob):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token


@pytest.fixture
def fee_token(d: Deployment, helper_deployer: Any) -> Any:
    """An ERC-20 that burns 1 % of every transfer; Alice and Bob hold and approve it."""
    token = helper_deployer("FeeOnTransferToken.vy").deploy()
    for actor in (d.alice, d.bob):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token
