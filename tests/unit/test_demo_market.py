"""``datagora demo market`` end to end on the embedded chain: every scenario of the trading paper ends with the
outcome the paper states, and nothing is left in the market's escrow once everyone has withdrawn."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from datagora.services.demo_market import WEI, run_market_demo

# What Wu et al. say each scenario ends with (section III for the trades, IV.A for the dishonest behaviours).
EXPECTED = {
    "broker": "CONFIRMED",
    "reseller_buy": "CONFIRMED",
    "reseller_sell": "CONFIRMED",
    "use_right": "3 answered, 1 refused, USE_RIGHT_EXPIRED",
    "negotiation": "CONFIRMED",
    "auction": "CONFIRMED",
    "fabricated": "FOR_BUYER",
    "lying_buyer": "FOR_SELLER",
    "wrong_file": "REDELIVERED",
    "no_delivery": "NOT_DELIVERED",
    "no_confirm": "RELEASED",
    "resale": "REFUSED",
    "settle_up": "ESCROW EMPTY",
}


def test_market_demo_runs_every_scenario_and_empties_the_escrow(tmp_path: Path) -> None:
    out = io.StringIO()
    report = run_market_demo(Console(file=out, width=200, force_terminal=False), tmp_path, None)
    text = out.getvalue()

    assert report.chain_kind == "embedded"
    assert {s.key: s.outcome for s in report.scenarios} == EXPECTED
    for scenario in report.scenarios:
        failed = [what for what, passed in scenario.checks if not passed]
        assert not failed, f"{scenario.title}: {failed}"
        assert scenario.ok
    assert report.ok

    # Nothing left in escrow, in ether or in the ERC-20, and nobody is still owed anything.
    assert report.escrowed_ether == report.escrowed_token == 0
    assert report.market_ether_balance == report.market_token_balance == 0
    assert all(a.pending_ether == 0 and a.pending_token == 0 for a in report.accounts)

    # The auction's money: dave won at 15 DGD; the seller got it less the 2.5 % fee plus its 10 DGD collateral,
    # the outbid bidders got their bids and collateral back, dave its collateral.
    accounts = {a.label: a for a in report.accounts}
    assert accounts["seller"].withdrawn_token == 24_625 * WEI // 1000
    assert accounts["platform"].withdrawn_token == 375 * WEI // 1000
    assert accounts["buyer"].withdrawn_token == 20 * WEI
    assert accounts["carol"].withdrawn_token == 22 * WEI
    assert accounts["dave"].withdrawn_token == 10 * WEI
    # Mallory lost both collaterals; her orders were refunded, so nobody could rate her (only completed orders
    # count); the honest pair rated each other 5/5.
    assert accounts["mallory"].withdrawn_ether == 0
    assert (accounts["mallory"].rating, accounts["mallory"].ratings) == (None, 0)
    assert (accounts["seller"].rating, accounts["buyer"].rating) == (5.0, 5.0)

    # Gas per step comes from receipts: every on-chain step costs more than a plain transfer.
    gas = report.gas()
    for key in ("buy", "deliver", "confirm", "withdraw (seller, ETH)"):
        assert gas["broker"][key] > 21_000
    assert all(g > 21_000 for steps in gas.values() for g in steps.values())
    assert len([k for k in gas["use_right"] if k.startswith("answer query")]) == 3

    for phrase in (
        "policy: raw rows not permitted",
        "disputed order",
        "market: not token owner",
        "near-duplicate of dataset",
        "Gas per step (transaction receipts)",
        "Outcomes: chain vs. paper",
        "All 13 scenarios ended as the paper states",
    ):
        assert phrase in text, phrase
