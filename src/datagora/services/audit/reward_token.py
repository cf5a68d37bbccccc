"""RewardToken events in the audit trail: transfers, approvals and roles are token housekeeping (shown only when
token transfers are asked for); the Consent events say what each reward was for."""

from __future__ import annotations

from datagora.services.audit.base import ContractTexts

TEXTS = ContractTexts(
    "RewardToken",
    describe={},
    housekeeping=frozenset({"Transfer", "Approval", "OwnershipTransferred", "RoleMinterChanged"}),
)
