"""Ratings between trading partners after a settled order (Wu et al. and Mehdi et al.: reputation).

Once a Market order is completed (something was delivered), its buyer may rate the seller and its seller the
buyer, each once, with a score of 1 to 5, unless both belong to one organisation; ``Reputation`` keeps every
account's total and number of rated orders on chain, and the average is always read beside that volume.
"""

from __future__ import annotations

from datagora.chain.contracts import Contracts
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import ValidationError
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
