"""Orders: pay into escrow, deliver, receive from the seller's node, confirm, refund, release (Wu et al.
section III.A steps 9-24). Every POST makes this node act with its own account: operator only."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, PeersDep, ReaderDep
from datagora.api.schemas import (
    BuyIn,
    DeliveredOut,
    OrderOut,
    OrderTxOut,
    ReceivedOut,
    ReceiveIn,
    TxOut,
    hex0x,
)
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import OrderState
from datagora.services import market

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderTxOut)
def buy_offer(body: BuyIn, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Pay into escrow for an offer (``value_wei`` defaults to the listed price; any other amount is refused
    by the contract and nothing is paid)."""
    with node.acting():
        order_id, tx = market.buy(node.contracts, node.participant, body.listing_id, body.value_wei)
    return OrderTxOut(order=OrderOut.of(node.contracts.order(order_id)), tx=TxOut.of(tx))


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: IdPath, node: NodeDep, _: ReaderDep) -> OrderOut:
    """One order, read from ``Market``."""
    return OrderOut.of(node.contracts.order(order_id))


@router.post("/{order_id}/deliver", response_model=DeliveredOut)
def deliver_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> DeliveredOut:
    """Re-encrypt the dataset to the buyer's Registry key, keep the ciphertext in the node's store and commit
    its SHA-256 on chain. The buyer then fetches it from ``GET /deliveries/{order_id}`` on this node."""
    with node.acting():
        delivery = market.deliver(node.contracts, node.participant, order_id)
    return DeliveredOut(
        order=OrderOut.of(node.contracts.order(order_id)),
        delivery_hash=hex0x(delivery.delivery_hash),
        size=delivery.path.stat().st_size,
        tx=TxOut.of(delivery.tx),
    )


@router.post("/{order_id}/receive", response_model=ReceivedOut)
def receive_order(order_id: IdPath, body: ReceiveIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> ReceivedOut:
    """Fetch the ciphertext from the seller's node (signed in there as this node's account, resuming a
    partial download), check it against the delivery hash on chain, decrypt it with the node's key into
    ``received/`` and check the plaintext against the content hash in ``Catalog``."""
    order, _listing, dataset = market.order_context(node.contracts, order_id)
    if not node.is_operator(order.buyer):
        raise AccessDenied(f"order {order_id} was not paid by this node's account")
    if order.state not in (OrderState.DELIVERED, OrderState.COMPLETED):
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    home = node.participant.home
    ciphertext = home / "inbox" / f"order-{order_id}.dge"
    peers.client(str(body.seller_url)).download_delivery(order_id, ciphertext, expected_sha256=order.delivery_hash)
    out = home / "received" / f"dataset-{dataset.token_id}"
    out.parent.mkdir(parents=True, exist_ok=True)
    receipt = market.receive(node.contracts, node.participant, order_id, ciphertext, out)
    return ReceivedOut(
        order_id=order_id,
        token_id=receipt.token_id,
        content_hash=hex0x(receipt.content_hash),
        size=receipt.size,
        stored_as=out.name,
    )


@router.post("/{order_id}/confirm", response_model=OrderTxOut)
def confirm_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Buyer confirms receipt: seller and platform are owed their shares, the data NFT moves to the buyer."""
    node.contracts.order(order_id)  # 404 for an unknown order rather than the contract's guard
    with node.acting():
        tx = market.confirm(node.contracts, node.participant, order_id)
    return OrderTxOut(order=OrderOut.of(node.contracts.order(order_id)), tx=TxOut.of(tx))


@router.post("/{order_id}/refund", response_model=OrderTxOut)
def refund_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Refund an order not delivered by its deadline (the buyer then withdraws)."""
    node.contracts.order(order_id)  # 404 for an unknown order rather than the contract's guard
    with node.acting():
        tx = market.refund(node.contracts, node.participant, order_id)
    return OrderTxOut(order=OrderOut.of(node.contracts.order(order_id)), tx=TxOut.of(tx))


@router.post("/{order_id}/release", response_model=OrderTxOut)
def release_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Release an order the buyer did not confirm by its deadline to the seller."""
    node.contracts.order(order_id)  # 404 for an unknown order rather than the contract's guard
    with node.acting():
        tx = market.release(node.contracts, node.participant, order_id)
    return OrderTxOut(order=OrderOut.of(node.contracts.order(order_id)), tx=TxOut.of(tx))
