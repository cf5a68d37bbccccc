"""Setting up a chain for Datagora: deploying the contract set (or one more contract into a recorded deployment)
and the demo ERC-20 with its mints. One place for what ``datagora deploy``, the scenarios and the demos do before
anyone trades."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from eth_account.signers.local import LocalAccount

from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.client import Chain
from datagora.chain.contracts import DEFAULT_FEE_BPS, Contracts
from datagora.chain.deployment import Deployment
from datagora.domain.errors import ValidationError
from datagora.domain.models import TxResult


def deploy(
    chain: Chain, supervisor: LocalAccount, platform: LocalAccount, *, fee_bps: int = DEFAULT_FEE_BPS
) -> Contracts:
    """Deploy every contract of the set: the Registry by ``supervisor`` (its owner, who audits organisations),
    the others by ``platform`` (owner of the sale contracts, receiver of fees, attester of novelty).
    ``fee_bps`` is the brokerage fee in basis points (1/100 of a percent). Returns the bound set; save its
    ``deployment`` to attach to it later. ``ChainError`` / ``TransactionReverted`` on failure."""
    return Contracts.deploy(chain, supervisor, platform, fee_bps=fee_bps)


def add(
    chain: Chain, deployments: Path, name: str, signers: Mapping[str, LocalAccount], *, fee_bps: int = DEFAULT_FEE_BPS
) -> Contracts:
    """Deploy one more contract ``name`` into the deployment recorded under ``deployments`` for this chain, with
    the accounts of ``signers`` by role (``"supervisor"``, ``"platform"``); the contracts already there keep their
    addresses. ``DeploymentError`` when ``name`` is unknown, already deployed or needs a missing contract."""
    return Contracts.add(chain, Deployment.load(deployments, chain.chain_id), name, signers, fee_bps=fee_bps)


def demo_token(
    contracts: Contracts,
    owner: LocalAccount,
    holders: Iterable[tuple[str, int]] = (),
    *,
    name: str = "Datagora Dollar",
    symbol: str = "DGD",
) -> tuple[str, list[TxResult]]:
    """Deploy a demo ERC-20 (contracts/DemoToken.vy, 18 decimals) that ``owner`` mints, and mint each
    ``(address, amount)`` of ``holders`` (amounts in the token's smallest unit). Returns the token's address and the
    mint transactions. ``ValidationError`` for a negative amount."""
    holders = list(holders)
    if any(amount < 0 for _, amount in holders):
        raise ValidationError("a mint amount must be zero or more")
    token = TokensBinding.deploy_demo(contracts.chain, owner, name, symbol)
    return token, [contracts.tokens.mint(owner, token, address, amount) for address, amount in holders]
