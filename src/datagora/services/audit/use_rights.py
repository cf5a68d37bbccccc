"""UseRights events in the audit trail: use-right listings and their ODRL terms, prepaid queries, each answered
query, expiry and withdrawals. Ids are above the Market's, so the Market's texts read them unchanged; only the
fee settings differ (UseRights has no dispute window)."""

from __future__ import annotations

from typing import Any

from datagora.services.audit import market
from datagora.services.audit.base import ContractTexts, Trail, eth


def _parameters(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        trail.platform or "platform",
        f"set the brokerage fee of use-rights to {a['fee_bps']} bps and their management fee to "
        f"{eth(a['management_fee'])} per listing",
    )


TEXTS = ContractTexts(
    "UseRights",
    describe={
        "Listed": market._listed,
        "UseRightTerms": market._use_right_terms,
        "ListingCancelled": market._listing_cancelled,
        "OrderPaid": market._order_paid,
        "QueryAnswered": market._query_answered,
        "Settled": market._settled,
        "Withdrawn": market._withdrawn,
        "ParametersChanged": _parameters,
    },
    learn={
        "Listed": market._learn_listing,
        "OrderPaid": market._learn_order,
    },
    parties={
        "Settled": market._order_parties,
        "QueryAnswered": market._order_parties,
        "UseRightTerms": market._listing_seller,
        "ParametersChanged": market._platform,
    },
    housekeeping=frozenset({"OwnershipTransferred"}),
)
