"""Orders: pay into escrow, deliver, receive from the seller's node, confirm, refund, release (Wu et al.
section III.A steps 9-24). Every POST makes this node act with its own account: operator only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, Peers, PeersDep, ReaderDep
from datagora.api.schemas import (
    BoardEntryOut,
    BuyIn,
    DeliveredOut,
    DeliverIn,
    OrderOut,
    OrderTxOut,
    ReceivedOut,
    ReceiveIn,
    RelayIn,
    RelayOut,
    TxOut,
    hex0x,
)
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import sha256_file
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import OrderState, TxResult
from datagora.services import market, publishing, relay
from datagora.services.node import Node
from datagora.services.participant import Participant

router = APIRouter(prefix="/orders", tags=["orders"])


def order_out(contracts: Contracts, order_id: int) -> OrderOut:
    """The order with its listing's terms (collateral, payment token). Raises ``NotFoundError``."""
    order = contracts.order(order_id)
    return OrderOut.of(order, contracts.listing(order.listing_id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderTxOut)
def buy_offer(body: BuyIn, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Pay into escrow for a fixed-price offer: its price plus the buyer's collateral (double deposit). For an
    ERC-20 listing the node approves the token first. ``value_wei`` overrides the ether sent; a wrong amount is
    refused by the contract (``market: wrong value``) and nothing is paid."""
    with node.acting():
        order_id, tx = market.buy(node.contracts, node.participant, body.listing_id, body.value_wei)
    return OrderTxOut(order=order_out(node.contracts, order_id), tx=TxOut.of(tx))


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: IdPath, node: NodeDep, _: ReaderDep) -> OrderOut:
    """One order, read from ``Market``."""
    return order_out(node.contracts, order_id)


def _relay(node: Node, peers: Peers, order_id: int, relay_url: str) -> RelayOut:
    upload, notice = relay.send_through_relay(node.contracts, node.participant, order_id, peers.client(relay_url))
    return RelayOut.model_validate({"upload": upload, "notice": notice})


@router.post("/{order_id}/deliver", response_model=DeliveredOut)
def deliver_order(
    order_id: IdPath, node: NodeDep, peers: PeersDep, _: OperatorDep, body: DeliverIn | None = None
) -> DeliveredOut:
    """Re-encrypt the dataset to the buyer's Registry key, keep the ciphertext in the node's store and commit
    its SHA-256 on chain. The buyer then fetches it from ``GET /deliveries/{order_id}`` on this node or, with
    ``relay_url``, from the platform's relay: the node uploads the ciphertext there and posts its signed "sent"
    notice to the send-receive board (Wu et al. steps 13-17; retry a failed relay with ``/relay``)."""
    with node.acting():
        delivery = market.deliver(node.contracts, node.participant, order_id)
    relayed = None
    if body is not None and body.relay_url is not None:
        relayed = _relay(node, peers, order_id, str(body.relay_url))
    return DeliveredOut(
        order=order_out(node.contracts, order_id),
        delivery_hash=hex0x(delivery.delivery_hash),
        size=delivery.path.stat().st_size,
        tx=TxOut.of(delivery.tx),
        relay=relayed,
    )


@router.post("/{order_id}/relay", response_model=RelayOut)
def relay_order(order_id: IdPath, body: RelayIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> RelayOut:
    """Relay an order this node already delivered through the platform's node (again): upload the ciphertext
    committed on chain and post the signed "sent" notice. Seller's node only."""
    return _relay(node, peers, order_id, str(body.relay_url))


@router.post("/{order_id}/receive", response_model=ReceivedOut)
def receive_order(order_id: IdPath, body: ReceiveIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> ReceivedOut:
    """Fetch the ciphertext from the seller's node (``seller_url``) or the platform's relay (``relay_url``),
    signed in there as this node's account and resuming a partial download, check it against the delivery hash
    on chain, decrypt it with the node's key into ``received/`` and check the plaintext against the content hash
    in ``Catalog``. From the relay, the node then posts its signed "received" notice to the send-receive board
    with the fingerprint of the decrypted data encrypted to the platform (Wu et al. step 21)."""
    order, _listing, dataset = market.order_context(node.contracts, order_id)
    if not node.is_operator(order.buyer):
        raise AccessDenied(f"order {order_id} was not paid by this node's account")
    if order.state not in (OrderState.DELIVERED, OrderState.DISPUTED, OrderState.COMPLETED):
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    home = node.participant.home
    ciphertext = home / "inbox" / f"order-{order_id}.dge"
    source = peers.client(str(body.relay_url or body.seller_url))
    if body.relay_url is not None:
        source.download_relayed(order_id, ciphertext, expected_sha256=order.delivery_hash)
    else:
        source.download_delivery(order_id, ciphertext, expected_sha256=order.delivery_hash)
    out = home / "received" / f"dataset-{dataset.token_id}"
    out.parent.mkdir(parents=True, exist_ok=True)
    receipt = market.receive(node.contracts, node.participant, order_id, ciphertext, out)
    notice = None
    if body.relay_url is not None:
        try:  # f_B, by the same generator as the seller's f_S (Wu et al. step 21)
            fingerprint: bytes | None = publishing.fingerprint_of(out)
        except ValidationError:  # content the fingerprinting does not support: the notice goes without
            fingerprint = None
        entry = relay.report_received(
            node.contracts, node.participant, order_id, sha256_file(ciphertext), source, fingerprint=fingerprint
        )
        notice = BoardEntryOut.model_validate(entry)
    return ReceivedOut(
        order_id=order_id,
        token_id=receipt.token_id,
        content_hash=hex0x(receipt.content_hash),
        size=receipt.size,
        stored_as=out.name,
        notice=notice,
    )


def _settle(node: Node, order_id: int, action: Callable[[Contracts, Participant, int], TxResult]) -> OrderTxOut:
    node.contracts.order(order_id)  # 404 for an unknown order rather than the contract's guard
    with node.acting():
        tx = action(node.contracts, node.participant, order_id)
    return OrderTxOut(order=order_out(node.contracts, order_id), tx=TxOut.of(tx))


@router.post("/{order_id}/confirm", response_model=OrderTxOut)
def confirm_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Buyer confirms receipt: seller and platform are owed their shares, the data NFT moves to the buyer."""
    return _settle(node, order_id, market.confirm)


@router.post("/{order_id}/refund", response_model=OrderTxOut)
def refund_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Refund an order not delivered by its deadline (the buyer then withdraws)."""
    return _settle(node, order_id, market.refund)


@router.post("/{order_id}/release", response_model=OrderTxOut)
def release_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Release an order the buyer did not confirm by its deadline to the seller."""
    return _settle(node, order_id, market.release)
