"""Ratings between trading partners after a settled order (Wu et al. and Mehdi et al.: reputation).

Once a Market order is completed or refunded, its buyer may rate the seller and its seller the buyer, each once,
with a score of 1 to 5; ``Reputation`` keeps every account's total and count on chain.
"""

from __future__ import annotations

from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import TxResult
from datagora.services.participant import Participant

MIN_SCORE = 1
MAX_SCORE = 5


def rate(contracts: Contracts, participant: Participant, order_id: int, score: int) -> TxResult:
    """Rate the other party of order ``order_id`` with ``score`` (1..5). Raises ``ValidationError`` for a score
    out of range (nothing is sent) and ``TransactionReverted`` when the contract refuses (``reputation: order
    not settled``, ``reputation: not a party``, ``reputation: already rated``)."""
    if isinstance(score, bool) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ValidationError(f"score must be an integer from {MIN_SCORE} to {MAX_SCORE}, got {score!r}")
    return contracts.reputation.rate(participant.account, order_id, score)


def reputation_of(contracts: Contracts, address: str) -> tuple[float | None, int]:
    """``(average score, number of ratings)`` that ``address`` has received; the average is None when the
    account has never been rated."""
    total, count = contracts.reputation.totals(address)
    return (total / count if count else None), count
