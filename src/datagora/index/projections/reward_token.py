"""RewardToken events in the index: token transfers, approvals and roles stay in the ``events`` table; the Consent
events say what each reward was for."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "RewardToken",
    handlers={},
    ignored=frozenset({"Transfer", "Approval", "OwnershipTransferred", "RoleMinterChanged"}),
)
