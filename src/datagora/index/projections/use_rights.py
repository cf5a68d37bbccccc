"""UseRights events in the index: use-right listings (with their terms), prepaid orders, answered queries and
settlements. UseRights numbers its listings and orders above the Market's (``USE_RIGHTS_ID_OFFSET``), so they
share the Market's tables and the same handlers."""

from __future__ import annotations

from datagora.index.projections import market
from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "UseRights",
    handlers={
        "Listed": market.listed,
        "UseRightTerms": market.use_right_terms,
        "ListingCancelled": market.listing_cancelled,
        "OrderPaid": market.order_paid,
        "QueryAnswered": market.query_answered,
        "Settled": market.settled,
    },
    ignored=frozenset({"Withdrawn", "ParametersChanged", "OwnershipTransferred"}),
)
