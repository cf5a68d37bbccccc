"""Ratings between the parties of a settled order (Mehdi et al.; Wu et al.: reputation). ``POST /ratings`` makes
this node's account rate the other party of an order it bought or sold (once, 1..5, once the order is settled as
``Reputation`` requires); ``GET /ratings/{address}`` reads what an account has received, from ``Reputation``. See
``datagora.services.reputation``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from datagora.api.deps import NodeDep, OperatorDep, ReaderDep
from datagora.api.market_schemas import RatingIn, RatingOut, ReputationOut
from datagora.api.schemas import ADDRESS_PATTERN, TxOut
from datagora.crypto.keys import checksum_address
from datagora.services import reputation

router = APIRouter(prefix="/ratings", tags=["ratings"])

AddressPath = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="An account address, 0x-hex.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RatingOut,
    responses={
        403: {"description": "This node's account is neither the order's buyer nor its seller"},
        404: {"description": "Unknown order"},
        409: {"description": "The order is not settled yet, or this party already rated it"},
    },
)
def rate(body: RatingIn, node: NodeDep, _: OperatorDep) -> RatingOut:
    """Rate the other party of a settled order (which settled orders may be rated is the ``Reputation``
    contract's rule): the buyer rates the seller, the seller the buyer, each once. Operator only."""
    with node.acting():
        rated, tx = reputation.rate_counterparty(node.contracts, node.participant, body.order_id, body.score)
    return RatingOut(order_id=body.order_id, rated=rated, score=body.score, tx=TxOut.of(tx))


@router.get("/{address}", response_model=ReputationOut)
def get_reputation(address: AddressPath, node: NodeDep, _: ReaderDep) -> ReputationOut:
    """The mean score ``address`` has received and how many ratings (``average`` null when never rated)."""
    average, count = reputation.reputation_of(node.contracts, address)
    return ReputationOut(address=checksum_address(address), average=average, count=count)
