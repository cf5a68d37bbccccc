"""Shared fixtures for the Vyper contract tests (titanoboa, in-process py-evm).

Each contract is compiled once per source tree (:mod:`tests.kits.compiled_contracts`), the contracts are
deployed and populated once per module (``deployment``, see ``contract_kit``) and every test runs inside
``boa.env.anchor()`` (snapshot/revert), so tests never see each other's state and nothing is redeployed per test.
A module that pays in an ERC-20 asks for ``demo_token`` (a DemoToken deployed once per module, every actor
funded); test-only contracts under contracts/mocks/ (hostile tokens, re-entrant receivers) come from
``helper_deployer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boa
import pytest
from eth_account.signers.local import LocalAccount

from tests.kits import compiled_contracts
from tests.kits.contract_kit import (
    FEE_BPS,
    START_BALANCE,
    STATUS_AUDITED,
    TOKEN_START_BALANCE,
    Deployment,
    make_account,
    public_key_of,
)


@pytest.fixture(scope="module")
def env() -> Any:
    """The titanoboa environment, passed explicitly to tests instead of reaching for the global."""
    return boa.env


@pytest.fixture(scope="session")
def registry_deployer() -> Any:
    return compiled_contracts.deployer("Registry.vy")


@pytest.fixture(scope="session")
def catalog_deployer() -> Any:
    return compiled_contracts.deployer("Catalog.vy")


@pytest.fixture(scope="session")
def market_deployer() -> Any:
    return compiled_contracts.deployer("Market.vy")


@pytest.fixture(scope="session")
def use_rights_deployer() -> Any:
    return compiled_contracts.deployer("UseRights.vy")


@pytest.fixture(scope="session")
def token_deployer() -> Any:
    return compiled_contracts.deployer("DemoToken.vy")


@pytest.fixture(scope="session")
def helper_deployer() -> Callable[[str], Any]:
    """The deployer of a test-only contract from contracts/mocks/ by file name (compiled once per source tree)."""

    def load(filename: str) -> Any:
        return compiled_contracts.deployer(f"mocks/{filename}")

    return load


@pytest.fixture(scope="module")
def deployment(
    env: Any, registry_deployer: Any, catalog_deployer: Any, market_deployer: Any, use_rights_deployer: Any
) -> Deployment:
    """Registry, Catalog, Market and UseRights deployed and populated once per test module (see module docstring)."""
    supervisor, platform = make_account("supervisor"), make_account("platform")
    alice, bob, carol = make_account("alice"), make_account("bob"), make_account("carol")
    dave, erin, mallory = make_account("dave"), make_account("erin"), make_account("mallory")
    for actor in (supervisor, platform, alice, bob, carol, dave, erin, mallory):
        env.set_balance(actor.address, START_BALANCE)

    with env.prank(supervisor.address):
        registry = registry_deployer.deploy()
    with env.prank(platform.address):
        catalog = catalog_deployer.deploy(registry.address)
        catalog.grantRole(catalog.ATTESTER_ROLE(), platform.address)
        market = market_deployer.deploy(registry.address, catalog.address, FEE_BPS)
        use_rights = use_rights_deployer.deploy(registry.address, catalog.address, FEE_BPS)

    def register(account: LocalAccount, name: str) -> int:
        with env.prank(account.address):
            return int(registry.register_organisation(name, public_key_of(account)))

    acme_id, beta_id = register(alice, "Acme"), register(bob, "Beta")
    register(carol, "Acme")
    with env.prank(alice.address):
        registry.approve_member(carol.address)
    gamma_id = register(dave, "Gamma")
    with env.prank(erin.address):
        registry.register_customer(public_key_of(erin))
    with env.prank(supervisor.address):
        registry.set_status(acme_id, STATUS_AUDITED)
        registry.set_status(beta_id, STATUS_AUDITED)

    return Deployment(
        env=env,
        registry=registry,
        catalog=catalog,
        market=market,
        use_rights=use_rights,
        supervisor=supervisor,
        platform=platform,
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        erin=erin,
        mallory=mallory,
        acme_id=acme_id,
        beta_id=beta_id,
        gamma_id=gamma_id,
    )


@pytest.fixture(scope="module")
def demo_token(deployment: Deployment, token_deployer: Any) -> Any:
    """A DemoToken ERC-20 ("Datagora Dollar", DGD) the platform deploys once per module (owner and minter),
    with ``TOKEN_START_BALANCE`` minted to every actor. Payers must still ``approve`` the market."""
    with deployment.env.prank(deployment.platform.address):
        token = token_deployer.deploy("Datagora Dollar", "DGD")
        for actor in deployment.actors:
            token.mint(actor.address, TOKEN_START_BALANCE)
    return token


@pytest.fixture(autouse=True)
def _isolate(env: Any, deployment: Deployment) -> Iterator[None]:
    """Run every test in a snapshot of the module deployment; state, balances and time are reverted after.

    titanoboa's record of storage writes per address (``sstore_trace``, read only to describe a contract when a
    call reverts) is not part of the snapshot: a contract deployed inside a test leaves its writes recorded at an
    address the revert frees, and the next contract deployed there (another module's, same deployer and nonce)
    would be described with the wrong storage layout, failing its first expected revert. It is emptied with the
    snapshot."""
    with env.anchor():
        yield
    env.sstore_trace.clear()


@pytest.fixture
def d(deployment: Deployment) -> Deployment:
    """Short alias of ``deployment`` for test bodies."""
    return deployment
