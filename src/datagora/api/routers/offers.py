"""Offers: a fixed-price sale of a dataset's ownership through escrow (``Market`` listings)."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import OfferCreated, OfferIn, OfferOut, TxOut
from datagora.services import market

router = APIRouter(prefix="/offers", tags=["offers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OfferCreated)
def create_offer(body: OfferIn, node: NodeDep, _: OperatorDep) -> OfferCreated:
    """List a dataset the node's account owns (approving the market for its data NFTs first when needed).
    Operator only."""
    with node.acting():
        listing_id, txs = market.list_dataset(
            node.contracts,
            node.participant,
            body.token_id,
            body.price_wei,
            delivery_window=body.delivery_window,
            confirm_window=body.confirm_window,
        )
    return OfferCreated(offer=OfferOut.of(node.contracts.listing(listing_id)), txs=[TxOut.of(t) for t in txs])


@router.get("/{listing_id}", response_model=OfferOut)
def get_offer(listing_id: IdPath, node: NodeDep, _: ReaderDep) -> OfferOut:
    """One offer, read from ``Market``."""
    return OfferOut.of(node.contracts.listing(listing_id))
