"""Consent events in the index (the shopping-cart paper's consents, accesses and refusals).

No table derives from them yet: the consent dashboard and the shop pages read these events from the ``events``
table (every event of the set is stored there, with its transaction and block), so each event is declared here
and none is lost. Tables of their own (consents, stream items by key, shop orders) come with the shop node."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Consent",
    handlers={},
    ignored=frozenset(
        {
            "ConsentGranted",
            "ConsentRevoked",
            "AccessRecorded",
            "AccessRefused",
            "Deposited",
            "DepositWithdrawn",
            "Withdrawn",
        }
    ),
)
