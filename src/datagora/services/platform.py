"""The platform's parameters of the ``Market`` (Wu et al. section III.A: the platform as broker): the brokerage
fee on each sale (basis points), the optional management fee each listing pays (wei) and the time the platform
gives itself to resolve a dispute (seconds). Only the platform (the Market's owner) may change them. The fees
apply to use-rights sold per query too: UseRights keeps its own copy, set in the same call."""

from __future__ import annotations

from dataclasses import dataclass

from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import TxResult
from datagora.services.participant import Participant

MAX_FEE_BPS = 1_000
"""Market.vy ``MAX_FEE_BPS``: 10 %."""


@dataclass(frozen=True)
class MarketParameters:
    """``fee_bps``: brokerage fee in basis points of each sale, applied to orders opened afterwards;
    ``management_fee``: wei each new listing pays the platform; ``dispute_window``: seconds the platform has to
    resolve a dispute opened afterwards."""

    fee_bps: int
    management_fee: int
    dispute_window: int


def market_parameters(contracts: Contracts) -> MarketParameters:
    """The parameters in force."""
    return MarketParameters(
        contracts.market.fee_bps(), contracts.market.management_fee(), contracts.market.dispute_window()
    )


def set_market_parameters(
    contracts: Contracts,
    platform: Participant,
    *,
    fee_bps: int | None = None,
    management_fee: int | None = None,
    dispute_window: int | None = None,
) -> tuple[MarketParameters, TxResult]:
    """Change the given parameters and keep the others (``Market.set_parameters``, and ``UseRights.set_parameters``
    when its fees differ: one or two transactions; the Market's is returned). Returns
    the parameters now in force. Raises ``ValidationError`` when nothing would change or a value is negative or
    the fee above :data:`MAX_FEE_BPS` (nothing sent), ``TransactionReverted`` when the contract refuses
    (``ownable: caller is not the owner``, ``market: bad dispute window`` …)."""
    if fee_bps is None and management_fee is None and dispute_window is None:
        raise ValidationError("give at least one of the brokerage fee, the management fee and the dispute window")
    for what, value in (("fee", fee_bps), ("management fee", management_fee), ("dispute window", dispute_window)):
        if value is not None and value < 0:
            raise ValidationError(f"{what} must not be negative")
    if fee_bps is not None and fee_bps > MAX_FEE_BPS:
        raise ValidationError(f"fee of {fee_bps} bps is above the Market's maximum of {MAX_FEE_BPS} bps")
    now = market_parameters(contracts)
    wanted = MarketParameters(
        now.fee_bps if fee_bps is None else fee_bps,
        now.management_fee if management_fee is None else management_fee,
        now.dispute_window if dispute_window is None else dispute_window,
    )
    tx = contracts.market.set_parameters(
        platform.account,
        fee_bps=wanted.fee_bps,
        management_fee=wanted.management_fee,
        dispute_window=wanted.dispute_window,
    )
    if "UseRights" in contracts.addresses and (wanted.fee_bps, wanted.management_fee) != (
        contracts.use_rights.fee_bps(),
        contracts.use_rights.management_fee(),
    ):
        contracts.use_rights.set_parameters(
            platform.account, fee_bps=wanted.fee_bps, management_fee=wanted.management_fee
        )
    return market_parameters(contracts), tx
