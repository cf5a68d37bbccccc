"""The points paper's case study (Hu, Xin, Deng, Qian, section 2.3) on chain and by secure computation.

Mallory buys cufflinks at a brand's store and earns 2600 brand points (step 1); she also holds 3200 points on the
e-commerce platform. The brand (input A = 2600), the platform (input B = 3200) and the MPC platform (no input)
compute her membership tier from A + B against 2000 / 5000 / 10000, and the paper's score
F(A, B) = max(min(max(37A, 150B), 150000), 50000), each party in its own process, neither side revealing its
number (steps 5-8); every party signs the result and the tier is posted on chain (steps 9-10). Mallory then
spends points at the platform's checkout.

:func:`run` plays it on a fresh Points contract. No printing: every step is a
:class:`~datagora.scenarios.records.Step` passed to ``on_step`` and kept in the returned record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.models import TxResult
from datagora.mpc.points import PointsResult, plain_result
from datagora.mpc.session import DEFAULT_TIMEOUT
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step
from datagora.services import points as service

StepHook = Callable[[Step], None]

BRAND_NAME = "Cufflinks & Co"
BRAND_POINTS = 2600
"""A: Mallory's points at the brand's store (the paper's step 1)."""
PLATFORM_POINTS = 3200
"""B: Mallory's points on the e-commerce platform (the paper's step 6)."""
SPENT_AT_CHECKOUT = 600
"""Points Mallory spends at the platform's checkout at the end."""


@dataclass
class PointsDemo:
    """A run: its record (``scenario``), the computation (result, session timings, signatures), the plain
    computation of the same inputs (``expected``), the contracts and Mallory's address."""

    scenario: ScenarioResult
    computation: service.TierComputation
    expected: PointsResult
    contracts: Contracts
    member: str

    @property
    def ok(self) -> bool:
        return self.scenario.ok


def _ref(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def run(
    chain: Chain,
    *,
    fund_wei: int = 10 * WEI,
    tls: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    on_step: StepHook = lambda s: None,
) -> PointsDemo:
    """Play the case study on ``chain`` (new funded accounts, a fresh Points contract). Raises
    ``ComputationFailed`` when the secure computation fails (nothing is posted then) and ``ChainError`` /
    ``TransactionReverted`` on chain failures."""
    result = ScenarioResult("points", "Loyalty points and a tier computed without revealing either side", "TIER 2")

    def step(actor: str, name: str, action: str, *txs: TxResult) -> None:
        record = Step(actor, name, action, tuple(txs))
        result.steps.append(record)
        on_step(record)

    brand, platform, helper, mallory = (Account.create() for _ in range(4))
    for account in (brand, platform, helper, mallory):
        chain.fund(account.address, fund_wei)
    step("chain", "fund", "gave the brand, the platform, the MPC platform and Mallory an account each")
    contracts = Contracts.deploy(chain, platform, platform, only=["BrandPoints", "Points"])
    step("platform", "deploy", f"deployed the Points contract at {contracts.points.address}")
    brand_id, tx = service.register_brand(
        contracts, platform, BRAND_NAME, brand.address, [brand.address, platform.address, helper.address]
    )
    token, token_name, symbol = contracts.points.token_info(brand_id)
    step(
        "platform",
        "register brand",
        f"registered the brand {BRAND_NAME!r} (#{brand_id}) and its 3 computing parties; its points are the "
        f"ERC-20 token {token_name!r} ({symbol}) at {token}, which any wallet lists",
        tx,
    )
    tx = contracts.points.set_issuer(brand, brand_id, brand.address)
    step("brand", "issuer", "allowed its store to issue points", tx)
    tx = service.issue(contracts, brand, brand_id, mallory.address, BRAND_POINTS, _ref("cufflinks"))
    step("brand", "issue", f"Mallory bought cufflinks at the store: {BRAND_POINTS} brand points", tx)
    step("platform", "platform points", f"holds {PLATFORM_POINTS} points of Mallory's in its own records (private)")
    computation = service.compute_tier(
        contracts,
        brand_id,
        mallory.address,
        BRAND_POINTS,
        PLATFORM_POINTS,
        [brand, platform, helper],
        helper,
        timeout=timeout,
        tls=tls,
    )
    session = computation.session
    per_run = max(max(p.seconds) for p in session.parties) * 1000
    step(
        "MPC",
        "compute",
        f"brand, platform and MPC platform computed the tier in 3 processes over {'TLS' if session.tls else 'TCP'} "
        f"({per_run:.0f} ms protocol, {session.seconds:.1f} s with process start): "
        f"tier {computation.result.tier} ({service.TIER_NAMES[computation.result.tier]}), "
        f"score {computation.result.score:,}; neither side saw the other's points",
    )
    step("MPC", "post tier", "posted the tier with all 3 parties' signatures", computation.tx)
    tx = contracts.points.approve_checkout(mallory, brand_id, platform.address, SPENT_AT_CHECKOUT)
    step(
        "Mallory", "approve checkout", f"let the platform's checkout spend up to {SPENT_AT_CHECKOUT} of her points", tx
    )
    tx = service.spend(contracts, platform, brand_id, mallory.address, SPENT_AT_CHECKOUT, _ref("order 1"))
    step("platform", "checkout", f"Mallory paid {SPENT_AT_CHECKOUT} points at checkout", tx)

    expected = plain_result(BRAND_POINTS, PLATFORM_POINTS)
    after = service.standing(contracts, brand_id, mallory.address)
    result.outcome = f"TIER {after.tier}"
    result.checks += [
        Check(
            f"the tier on chain ({after.tier}) is the plain computation's ({expected.tier})",
            after.tier == expected.tier,
        ),
        Check(f"the score on chain ({after.score}) is F(A, B) = {expected.score}", after.score == expected.score),
        Check(
            f"Mallory holds {BRAND_POINTS - SPENT_AT_CHECKOUT} points after checkout",
            after.points == BRAND_POINTS - SPENT_AT_CHECKOUT,
        ),
        Check("every party computed the same result", all(p.result == expected for p in session.parties)),
    ]
    result.ids = {"brand": brand_id}
    return PointsDemo(result, computation, expected, contracts, mallory.address)
