"""Ratings between trading partners after a settled order (Wu et al. and Mehdi et al.: reputation).

Once a Market order is completed (something was delivered), its buyer may rate the seller and its seller the
buyer, each once, with a score of 1 to 5, unless both belong to one organisation; ``Reputation`` keeps every
account's total and number of rated orders on chain, and the average is always read beside that volume.
"""

from __future__ import annotations

from datagora.chain.contracts import Contracts
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import TxResult
from datagora.services.participant import Participant

MIN_SCORE = 1
MAX_SCORE = 5


def rate(contracts: Contracts, participant: Participant, order_id: int, score: int) -> TxResult:
    """Rate the other party of order ``order_id`` with ``score`` (1..5). Raises ``ValidationError`` for a score
    out of range (nothing is sent) and ``TransactionReverted`` when the contract refuses (``reputation: order
    not completed``, ``reputation: not a party``, ``reputation: parties of one organisation``, ``reputation:
    already rated``)."""
    if isinstance(score, bool) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ValidationError(f"score must be an integer from {MIN_SCORE} to {MAX_SCORE}, got {score!r}")
    return contracts.reputation.rate(participant.account, order_id, score)


def reputation_of(contracts: Contracts, address: str) -> tuple[float | None, int]:
    """``(average score, number of rated orders)`` that ``address`` has received: the average (1.0 to 5.0) beside
    the volume it rests on; the average is None when the account has never been rated. Raises
    ``ValidationError`` for a malformed address."""
    total, count = contracts.reputation.totals(checksum_address(address))
    return (total / count if count else None), count


def rate_counterparty(
    contracts: Contracts, participant: Participant, order_id: int, score: int
) -> tuple[str, TxResult]:
    """:func:`rate` for a caller that must be a party of ``order_id``: returns the rated account (the seller when
    the buyer rates, the buyer when the seller rates) and the transaction. Raises ``NotFoundError`` (unknown
    order), ``AccessDenied`` (neither its buyer nor its seller; nothing is sent), ``ValidationError`` (score) and
    ``TransactionReverted`` for the contract's other refusals (the order not settled, already rated)."""
    order = contracts.market.order(order_id)
    seller = contracts.market.listing(order.listing_id).seller
    me = participant.address.lower()
    if me == order.buyer.lower():
        rated = seller
    elif me == seller.lower():
        rated = order.buyer
    else:
        raise AccessDenied(f"reputation: not a party ({participant.address} neither bought nor sold order {order_id})")
    return rated, rate(contracts, participant, order_id, score)
