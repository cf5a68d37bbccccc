"""Shop events in the index: kept in the ``events`` table (the shop node's order history reads them there); a
table of shop orders comes with the shop node."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Shop",
    handlers={},
    ignored=frozenset(
        {"ShopTermsSet", "BondDeposited", "BondWithdrawn", "OrderPaid", "OrderDelivered", "Settled", "Withdrawn"}
    ),
)
