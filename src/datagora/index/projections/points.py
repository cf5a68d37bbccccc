"""Points events in the index: balances and tiers are kept by the contract itself (``balanceOf``, ``tier_of``),
so every event stays in the ``events`` table only, where the audit trail and a member's history read it."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Points",
    handlers={},
    ignored=frozenset(
        {
            "BrandRegistered",
            "IssuerSet",
            "PointsIssued",
            "PointsSpent",
            "PointValueSet",
            "TierUpdated",
            "OwnershipTransferred",
        }
    ),
)

BRAND_POINTS_PROJECTION = ContractProjection(
    "BrandPoints",
    handlers={},
    ignored=frozenset({"Transfer", "Approval", "OwnershipTransferred", "RoleMinterChanged"}),
)
"""The brand tokens' ERC-20 events (the deployment holds only their blueprint, which emits none): what was
issued and spent is indexed from the Points events."""
