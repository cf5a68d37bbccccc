"""Every market scenario, on real data, on one chain: :func:`setup` builds the stage, each scenario in
:data:`SCENARIOS` is a function of the stage returning its :class:`~datagora.scenarios.records.ScenarioResult`,
and :func:`run` plays them all in order (some build on earlier ones: the platform resells what it bought, the
seller tries to resell the photo of the first sale, everyone withdraws at the end) and reads back the final
position. No printing: ``datagora demo market`` renders the records, the integration tests assert them and
``benchmarks/gas_scenarios.py`` reads their gas."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from datagora.chain.client import Chain
from datagora.domain.models import ETHER
from datagora.scenarios.market.disputes import (
    ESCROW_EMPTY,
    REFUSED,
    fabricated,
    lying_buyer,
    no_confirm,
    no_delivery,
    resale,
    settle_up,
    wrong_file,
)
from datagora.scenarios.market.sales import auction, broker, negotiation, reseller_buy, reseller_sell, use_right
from datagora.scenarios.market.stage import (
    DATASETS,
    DAY,
    MANAGEMENT_FEE,
    PEOPLE,
    MarketScenario,
    MarketStage,
    ScenarioHook,
    StepHook,
    setup,
)
from datagora.scenarios.records import WEI, ScenarioResult
from datagora.services import market, reputation

SCENARIOS: list[MarketScenario] = [
    broker,
    reseller_buy,
    reseller_sell,
    use_right,
    negotiation,
    auction,
    fabricated,
    lying_buyer,
    wrong_file,
    no_delivery,
    no_confirm,
    resale,
    settle_up,
]
"""The scenarios in the order :func:`run` plays them."""

__all__ = [
    "DATASETS",
    "DAY",
    "ESCROW_EMPTY",
    "MANAGEMENT_FEE",
    "PEOPLE",
    "REFUSED",
    "SCENARIOS",
    "AccountSummary",
    "MarketReport",
    "MarketScenario",
    "MarketStage",
    "run",
    "setup",
]


@dataclass(frozen=True)
class AccountSummary:
    """What one participant withdrew from the Market over the run (wei and DGD units), what it is still owed
    (0 after a clean run), and its reputation (average score or None, number of ratings)."""

    label: str
    address: str
    withdrawn_ether: int
    withdrawn_token: int
    pending_ether: int
    pending_token: int
    rating: float | None
    ratings: int


@dataclass
class MarketReport:
    """A whole run: the stage (with its setup record), every scenario's record, each participant's final
    position, and what the sale contracts (Market and UseRights) still hold in escrow and as balance (all 0
    after a clean run)."""

    stage: MarketStage
    scenarios: list[ScenarioResult]
    accounts: list[AccountSummary] = field(default_factory=list)
    escrowed_ether: int = -1
    escrowed_token: int = -1
    market_ether_balance: int = -1
    market_token_balance: int = -1
    seconds: float = 0.0

    @property
    def setup(self) -> ScenarioResult:
        return self.stage.setup

    @property
    def ok(self) -> bool:
        """Every scenario reached its expected outcome, every check passed and nothing is left in the Market."""
        return all(s.ok for s in self.scenarios) and self.escrow_empty

    @property
    def escrow_empty(self) -> bool:
        return (
            self.escrowed_ether == self.escrowed_token == self.market_ether_balance == self.market_token_balance == 0
            and all(a.pending_ether == a.pending_token == 0 for a in self.accounts)
        )

    def gas(self) -> dict[str, dict[str, int]]:
        """``{scenario key: {step name: gas}}`` for the setup and every scenario, from transaction receipts."""
        return {s.key: s.gas for s in [self.setup, *self.scenarios]}

    def scenario(self, key: str) -> ScenarioResult:
        for s in self.scenarios:
            if s.key == key:
                return s
        raise KeyError(key)


def final_position(stage: MarketStage) -> list[AccountSummary]:
    """Each participant's withdrawals over the run, what it is still owed and its reputation."""
    accounts = []
    for label, person in stage.people.items():
        avg, count = reputation.reputation_of(stage.contracts, person.address)
        accounts.append(
            AccountSummary(
                label,
                person.address,
                stage.withdrawn.get((label, ETHER), 0),
                stage.withdrawn.get((label, stage.token), 0),
                stage.owed(label),
                stage.owed(label, stage.token),
                avg,
                count,
            )
        )
    return accounts


def run(
    chain: Chain,
    workdir: Path,
    *,
    on_step: StepHook = lambda step: None,
    on_scenario: ScenarioHook = lambda scenario: None,
    fund_wei: int = 100 * WEI,
    management_fee: int = MANAGEMENT_FEE,
    seed: str | None = None,
) -> MarketReport:
    """:func:`setup` on ``chain`` (stores under ``workdir``; ``seed`` as there), then every scenario of
    :data:`SCENARIOS` in order. ``on_scenario`` is called when the setup and each scenario start, ``on_step``
    after every step. The chain must move its clock (``Chain.advance_time``: the embedded EVM, Anvil, Hardhat),
    else ``ChainError``. A scenario that ends otherwise than expected is reported, not raised; any unexpected
    error (a revert, a refused check) propagates."""
    started = time.perf_counter()
    on_scenario(ScenarioResult("setup", "Setting up the market", ""))
    stage = setup(chain, workdir, on_step=on_step, fund_wei=fund_wei, management_fee=management_fee, seed=seed)
    stage.on_scenario = on_scenario
    results = [play(stage) for play in SCENARIOS]
    held = market.sale_contracts(stage.contracts)
    return MarketReport(
        stage,
        results,
        final_position(stage),
        market.held_in_escrow(stage.contracts, ETHER),
        market.held_in_escrow(stage.contracts, stage.token),
        sum(chain.balance(b.address) for b in held),
        sum(stage.contracts.tokens.balance(stage.token, b.address) for b in held),
        time.perf_counter() - started,
    )
