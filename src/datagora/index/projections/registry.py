"""Registry events in the index. Organisations, members and statuses are read from the Registry itself (a view
call per organisation is cheap and always current), so no table derives from these events: they stay in the
``events`` table, where the audit trail reads them."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Registry",
    handlers={},
    ignored=frozenset(
        {
            "OrganisationRegistered",
            "MemberJoined",
            "MembershipRequested",
            "MembershipWithdrawn",
            "MembershipRejected",
            "CustomerRegistered",
            "StatusChanged",
            "OwnershipTransferred",
        }
    ),
)
