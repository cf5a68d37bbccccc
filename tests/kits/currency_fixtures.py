"""Fixtures of the escrow contracts' tests (Market and UseRights, each as ``d.market``): ``cur`` runs a test paid in
ether and in DemoToken, ``ether`` pays in ether only, and two hostile ERC-20s that Alice and Bob hold and approve."""

from typing import Any

import pytest

from tests.kits.contract_kit import TOKEN_START_BALANCE, Deployment
from tests.market.contracts.market_helpers import Currency


@pytest.fixture(params=["ether", "token"])
def cur(request: pytest.FixtureRequest, d: Deployment, demo_token: Any) -> Currency:
    """Each test using it runs twice: paid in ether, and in DemoToken (Alice, Bob and Carol approve ``d.market``)."""
    if request.param == "ether":
        return Currency(d, None)
    for actor in (d.alice, d.bob, d.carol):
        d.approve(demo_token, actor)
    return Currency(d, demo_token)


@pytest.fixture
def ether(d: Deployment) -> Currency:
    return Currency(d, None)


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
