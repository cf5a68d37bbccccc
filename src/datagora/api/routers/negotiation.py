"""Negotiation on a negotiable listing (Wu et al. section III.A, pricing module): a buyer's node offers an amount
(escrowed with its collateral), the seller's node counters, accepts or rejects, the buyer's node accepts a counter
or withdraws its offer. Every POST makes this node act with its own account: operator only. The contract decides
who may do what to an offer (``market: not seller``, ``market: not offer buyer`` …: 409). See
``datagora.services.market``.

A negotiation offer is ``Market.offers[offer_id]``; in the other routes an "offer" is a listing (``/offers``).
"""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep
from datagora.api.market_schemas import CounterIn, NegotiatedOrderOut, NegotiationIn, NegotiationOut, NegotiationTxOut
from datagora.api.routers.orders import order_out
from datagora.api.schemas import TxOut
from datagora.services import market
from datagora.services.node import Node

router = APIRouter(prefix="/negotiations", tags=["negotiation"])

_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown offer"},
    409: {"description": "The contract refused: not this node's to act on, not open any more, expired …"},
}


def negotiation_out(node: Node, offer_id: int) -> NegotiationOut:
    """The offer as ``Market`` holds it. Raises ``NotFoundError``."""
    return NegotiationOut.of(node.contracts.market.offer(offer_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NegotiationTxOut,
    responses={404: {"description": "Unknown listing"}, 409: _RESPONSES[409]},
)
def make_offer(body: NegotiationIn, node: NodeDep, _: OperatorDep) -> NegotiationTxOut:
    """Offer ``amount_wei`` for a negotiable listing, open ``valid_for`` seconds; the amount and the buyer's
    collateral are escrowed (an ERC-20 is approved first). Operator (buyer) only."""
    with node.acting():
        offer_id, tx = market.make_offer(
            node.contracts, node.participant, body.listing_id, body.amount_wei, valid_for=body.valid_for
        )
    return NegotiationTxOut(negotiation=negotiation_out(node, offer_id), tx=TxOut.of(tx))


@router.get("/{offer_id}", response_model=NegotiationOut, responses={404: _RESPONSES[404]})
def get_offer(offer_id: IdPath, node: NodeDep, _: ReaderDep) -> NegotiationOut:
    """One negotiation offer: amount, counter, expiry and state."""
    return negotiation_out(node, offer_id)


@router.post("/{offer_id}/counter", response_model=NegotiationTxOut, responses=_RESPONSES)
def counter_offer(offer_id: IdPath, body: CounterIn, node: NodeDep, _: OperatorDep) -> NegotiationTxOut:
    """The seller answers the offer with ``amount_wei`` instead; the buyer may accept it until the offer
    expires. Operator (seller) only."""
    negotiation_out(node, offer_id)  # 404 for an unknown offer rather than the contract's guard
    with node.acting():
        tx = market.counter_offer(node.contracts, node.participant, offer_id, body.amount_wei)
    return NegotiationTxOut(negotiation=negotiation_out(node, offer_id), tx=TxOut.of(tx))


@router.post("/{offer_id}/accept", response_model=NegotiatedOrderOut, responses=_RESPONSES)
def accept_offer(offer_id: IdPath, node: NodeDep, _: OperatorDep) -> NegotiatedOrderOut:
    """The seller accepts the buyer's amount: the offer becomes a paid order. Operator (seller) only."""
    negotiation_out(node, offer_id)
    with node.acting():
        order_id, tx = market.accept_offer(node.contracts, node.participant, offer_id)
    return NegotiatedOrderOut(
        negotiation=negotiation_out(node, offer_id), order=order_out(node.contracts, order_id), tx=TxOut.of(tx)
    )


@router.post("/{offer_id}/accept-counter", response_model=NegotiatedOrderOut, responses=_RESPONSES)
def accept_counter(offer_id: IdPath, node: NodeDep, _: OperatorDep) -> NegotiatedOrderOut:
    """The buyer accepts the seller's counter: a higher price is topped up now, a lower one leaves the difference
    to withdraw; the offer becomes a paid order. Operator (buyer) only."""
    negotiation_out(node, offer_id)
    with node.acting():
        order_id, tx = market.accept_counter(node.contracts, node.participant, offer_id)
    return NegotiatedOrderOut(
        negotiation=negotiation_out(node, offer_id), order=order_out(node.contracts, order_id), tx=TxOut.of(tx)
    )


@router.post("/{offer_id}/reject", response_model=NegotiationTxOut, responses=_RESPONSES)
def reject_offer(offer_id: IdPath, node: NodeDep, _: OperatorDep) -> NegotiationTxOut:
    """The seller rejects the offer; the buyer's escrow is owed back to it (``POST /withdrawals``). Operator
    (seller) only."""
    negotiation_out(node, offer_id)
    with node.acting():
        tx = market.reject_offer(node.contracts, node.participant, offer_id)
    return NegotiationTxOut(negotiation=negotiation_out(node, offer_id), tx=TxOut.of(tx))


@router.post("/{offer_id}/withdraw", response_model=NegotiationTxOut, responses=_RESPONSES)
def withdraw_offer(offer_id: IdPath, node: NodeDep, _: OperatorDep) -> NegotiationTxOut:
    """The buyer takes its offer back (anyone may once it expired); the escrow is owed back to the buyer
    (``POST /withdrawals``). Operator only."""
    negotiation_out(node, offer_id)
    with node.acting():
        tx = market.withdraw_offer(node.contracts, node.participant, offer_id)
    return NegotiationTxOut(negotiation=negotiation_out(node, offer_id), tx=TxOut.of(tx))
