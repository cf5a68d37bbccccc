"""What the UseRights contract tests share: the default sale's numbers and the helpers that open a use-right
order, record a query signed by the buyer and set the platform's parameters. The fixtures (``d`` with UseRights
in the ``market`` slot, ``cur``, ``false_token``, ``fee_token``) are in this directory's conftest.py.

Default sale: Alice (Acme) sells queries on her dataset to Bob (Beta) at 0.01 ether (or DGD) each, at most 50 per
order, usable for a day, platform fee 250 bps.
"""

from __future__ import annotations

from typing import Any

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    USE_RIGHTS_ID_OFFSET,
    Deployment,
    digest,
)
from tests.market.contracts.market_helpers import Currency

ID_OFFSET = USE_RIGHTS_ID_OFFSET
FIRST_ID = ID_OFFSET + 1
PRICE = 10**18
MANAGEMENT_FEE = 10**15  # wei
QUERY_PRICE, MAX_Q, USAGE_WINDOW = 10**16, 50, 86_400
QUERY_FEE = QUERY_PRICE * FEE_BPS // 10_000
POLICY_HASH = digest("odrl-policy")
QUERY_HASH, RESULT_HASH = digest("SELECT avg(age) FROM admissions"), digest("result: 54.2")


def set_parameters(d: Deployment, fee_bps: int = FEE_BPS, management_fee: int = 0) -> None:
    with d.env.prank(d.platform.address):
        d.market.set_parameters(fee_bps, management_fee)


def use_right_order(
    d: Deployment, queries: int = 10, cur: Currency | None = None, price: int = QUERY_PRICE
) -> tuple[int, int, int]:
    """Bob prepays ``queries`` queries of Alice's use-right listing; returns (token id, listing id, order id)."""
    token_id = d.publish(d.alice)
    payment_token = ETHER if cur is None else cur.address
    listing_id = d.list_use_right(d.alice, token_id, price, MAX_Q, USAGE_WINDOW, payment_token, POLICY_HASH)
    return token_id, listing_id, d.buy_queries(d.bob, listing_id, queries)


def record(d: Deployment, order_id: int, query_hash: bytes = QUERY_HASH, signer: Any = None) -> None:
    """The seller records the next query of ``order_id``, signed by the buyer (or ``signer``)."""
    order = d.market.order(order_id)
    index = int(order.queries_total) - int(order.queries_left)
    signature = d.sign_query(signer or d.bob, order_id, index, query_hash)
    with d.env.prank(d.seller_of(order_id)):
        d.market.record_query(order_id, query_hash, RESULT_HASH, signature)
