"""Orders: pay into escrow, deliver, receive from the seller's node, confirm, refund, release (Wu et al.
section III.A steps 9-24), and the queries of use-right orders (section II). Every POST makes this node act with
its own account: operator only, except ``POST /orders/{id}/queries``, where the order's buyer asks the seller's
node to answer a signed query."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, Peers, PeersDep, ReaderDep, SessionDep
from datagora.api.market_schemas import DisputedOut, DisputeIn, EvidenceIn, ExpiredOut
from datagora.api.schemas import (
    AskedOut,
    AskIn,
    BuyIn,
    DeliveredOut,
    DeliverIn,
    DisclosureOut,
    OrderOut,
    OrderTxOut,
    PrivacyBudgetOut,
    QueryAnswerOut,
    QueryRequestIn,
    QueryResultOut,
    ReceivedOut,
    ReceiveIn,
    RelayIn,
    RelayOut,
    ReuploadOut,
    TxOut,
    hex0x,
)
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import TxResult
from datagora.query import QueryResult, QuerySpec
from datagora.services import disputes, market, relay, use_rights
from datagora.services.node import Node
from datagora.services.participant import Participant

router = APIRouter(prefix="/orders", tags=["orders"])


def order_out(contracts: Contracts, order_id: int) -> OrderOut:
    """The order with its listing's terms (collateral, payment token). Raises ``NotFoundError``."""
    order = contracts.market.order(order_id)
    return OrderOut.of(order, contracts.market.listing(order.listing_id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderTxOut)
def buy_offer(body: BuyIn, node: NodeDep, _: OperatorDep) -> OrderTxOut:
    """Pay into escrow for a fixed-price offer: its price plus the buyer's collateral (double deposit). For an
    ERC-20 listing the node approves the token first. ``value_wei`` overrides the ether sent; a wrong amount is
    refused by the contract (``market: wrong value``) and nothing is paid. For a use-right listing, prepay
    ``queries`` queries (price per query × queries)."""
    with node.acting():
        order_id, tx = use_rights.buy_listing(
            node.contracts, node.participant, body.listing_id, value_wei=body.value_wei, queries=body.queries
        )
    return OrderTxOut(order=order_out(node.contracts, order_id), tx=TxOut.of(tx))


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: IdPath, node: NodeDep, _: ReaderDep) -> OrderOut:
    """One order, read from ``Market``."""
    return order_out(node.contracts, order_id)


def _relay(node: Node, peers: Peers, order_id: int, relay_url: str) -> RelayOut:
    upload, notice = relay.send_through_relay(node.contracts, node.participant, order_id, peers.client(relay_url))
    return RelayOut(upload=upload, notice=notice)


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
    dataset = market.order_context(node.contracts, order_id)[2]
    from_relay = body.relay_url is not None
    source = peers.client(str(body.relay_url or body.seller_url))
    out = node.participant.paths.received / f"dataset-{dataset.token_id}"
    receipt = market.fetch_and_receive(node.contracts, node.participant, order_id, source, out, from_relay=from_relay)
    notice = None
    if from_relay and receipt.ciphertext is not None:  # step 21: the signed "received" notice with f_B
        notice = relay.report_receipt(
            node.contracts, node.participant, order_id, receipt.path, receipt.ciphertext, source
        )
    return ReceivedOut(
        order_id=order_id,
        token_id=receipt.token_id,
        content_hash=hex0x(receipt.content_hash),
        size=receipt.size,
        stored_as=receipt.path.name,
        notice=notice,
    )


def _settle(node: Node, order_id: int, action: Callable[[Contracts, Participant, int], TxResult]) -> OrderTxOut:
    node.contracts.market.order(order_id)  # 404 for an unknown order rather than the contract's guard
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


# -- use-right queries (Wu et al. section II) ----------------------------------------------------------------


def _result_out(result: QueryResult) -> QueryResultOut:
    return QueryResultOut.model_validate(result.to_dict())


@router.post(
    "/{order_id}/queries",
    response_model=QueryAnswerOut,
    responses={
        403: {
            "description": "Not the buyer, not signed by it, not sold by this node, refused by the policy, or past "
            "the buyer's privacy budget"
        },
        422: {"description": "Malformed or stale request (the index is not the order's next), or not for this table"},
    },
)
def answer_query(order_id: IdPath, body: QueryRequestIn, node: NodeDep, session: SessionDep) -> QueryAnswerOut:
    """The seller's node answers query ``index`` of a use-right order it sold: the caller must be the order's
    buyer, the EIP-712 signature the buyer's over (order, index, keccak256 of the query). The node checks the query
    against the listing's ODRL policy (refusals are 403 with the policy's rule, before anything is paid), runs it
    with DuckDB on its own copy and records it on chain with the result's keccak256 (``record_query``), which pays
    the query out of the buyer's credit. Only the result leaves the node. Answers are differentially private
    unless the listing opted out (``result.privacy`` states the noise, inside the hashed result); each spends the
    policy's epsilon from the buyer organisation's budget on the dataset, and the query that would exceed it is
    refused (403) before anything is paid."""
    order = node.contracts.market.order(order_id)
    if order.buyer.lower() != session.address.lower():
        raise AccessDenied(f"only the buyer of order {order_id} may run its queries; you are {session.address}")
    if body.order_id != order_id:
        raise ValidationError(f"the request is for order {body.order_id}, not {order_id}")
    request = use_rights.QueryRequest.from_dict(body.model_dump())
    with node.acting():
        answer = use_rights.answer_query(node.contracts, node.participant, request)
    return QueryAnswerOut(
        order_id=order_id,
        index=answer.index,
        result=_result_out(answer.result),
        result_hash=hex0x(answer.result.result_hash()),
        queries_left=node.contracts.market.order(order_id).queries_left,
        tx_hash=answer.tx.tx_hash,
        block_number=answer.tx.block_number,
        gas_used=answer.tx.gas_used,
    )


@router.get(
    "/{order_id}/privacy-budget",
    response_model=PrivacyBudgetOut,
    responses={
        403: {"description": "Neither the order's buyer nor its seller, or the order was not sold by this node"},
        404: {"description": "Unknown order"},
        422: {"description": "Not a use-right order"},
    },
)
def privacy_budget(order_id: IdPath, node: NodeDep, session: SessionDep) -> PrivacyBudgetOut:
    """The differential-privacy budget of a use-right order's buyer on its dataset, as the seller's node keeps
    it: epsilon per answer, the budget, what the buyer's organisation has spent across all its orders on the
    dataset and how many answers are left. Ask the seller's node; the caller must be the order's buyer or
    seller."""
    order = node.contracts.market.order(order_id)
    if session.address.lower() not in (order.buyer.lower(), node.participant.address.lower()):
        raise AccessDenied(f"only the buyer or the seller of order {order_id} may read its privacy budget")
    budget = use_rights.privacy_budget(node.contracts, node.participant, order_id)
    return PrivacyBudgetOut(
        **{name: getattr(budget, name) for name in PrivacyBudgetOut.model_fields if name != "epsilon_left"},
        epsilon_left=budget.epsilon_left,
    )


@router.post("/{order_id}/ask", response_model=AskedOut)
def ask_query(order_id: IdPath, body: AskIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> AskedOut:
    """The buyer's node runs a query of a use-right order it paid: it signs the request for the order's next
    index with its key, sends it to the seller's node (``POST /orders/{order_id}/queries`` at ``seller_url``,
    signed in there as this node's account) and checks the answer against the result hash the seller recorded on
    chain (``verified``). The seller's refusals come back with its status (403 for the policy). Operator only."""
    spec = QuerySpec.from_dict(body.query)
    checked = use_rights.ask(node.contracts, node.participant, order_id, spec, peers.client(str(body.seller_url)))
    answer = checked.answer
    return AskedOut(
        order_id=order_id,
        index=checked.request.index,
        result=_result_out(answer.result),
        result_hash=hex0x(answer.result.result_hash()),
        queries_left=checked.queries_left,
        tx_hash=answer.tx.tx_hash,
        block_number=answer.tx.block_number,
        gas_used=answer.tx.gas_used,
        verified=checked.verified,
    )


# -- a buyer's dispute and a use-right's expiry ----------------------------------------------------------------


@router.post(
    "/{order_id}/dispute",
    response_model=DisputedOut,
    responses={404: {"description": "Unknown order"}, 409: {"description": "The contract refused the dispute"}},
)
def dispute_order(order_id: IdPath, body: DisputeIn, node: NodeDep, _: OperatorDep) -> DisputedOut:
    """The buyer disputes a delivered order before its confirmation deadline (Wu et al. section IV.A.3): the
    ``reason`` stays on this node's side, its keccak256 goes on chain; the platform then arbitrates
    (``/disputes`` on its node) and the seller re-uploads its data there. Operator (buyer) only."""
    node.contracts.market.order(order_id)  # 404 for an unknown order rather than the contract's guard
    with node.acting():
        tx = market.dispute(node.contracts, node.participant, order_id, body.reason)
    return DisputedOut(
        order=order_out(node.contracts, order_id),
        reason_hash=hex0x(keccak256(body.reason.encode())),
        tx=TxOut.of(tx),
    )


@router.post(
    "/{order_id}/reupload",
    response_model=ReuploadOut,
    responses={
        404: {"description": "Unknown order, or this node does not hold the dataset"},
        422: {"description": "The order is not disputed"},
    },
)
def reupload_order(order_id: IdPath, body: EvidenceIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> ReuploadOut:
    """The seller's node of a disputed order re-encrypts its copy of the dataset to the platform's Registry key,
    ``E_PkP(D')``, and uploads it to the platform's node at ``platform_url`` (``PUT /relay/{order_id}/reupload``
    there, signed in as this node's account) for the arbitration (Wu et al. section IV.A.3). Returns the
    platform's receipt. Operator (seller) only."""
    return disputes.reupload_to(node.contracts, node.participant, order_id, peers.client(str(body.platform_url)))


@router.post(
    "/{order_id}/disclose",
    response_model=DisclosureOut,
    responses={
        404: {"description": "Unknown order"},
        422: {"description": "Nothing received for the order on this node, or the order is not disputed"},
    },
)
def disclose_order(order_id: IdPath, body: EvidenceIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> DisclosureOut:
    """The buyer's node of a disputed order discloses the data key of the ciphertext it received (kept by
    ``/receive``), encrypted to the platform, ``E_PkP(k)``, to the platform's node at ``platform_url``
    (``POST /relay/{order_id}/disclosure`` there): the platform can then decrypt exactly what the seller sent.
    Operator (buyer) only."""
    return disputes.disclose_to(node.contracts, node.participant, order_id, peers.client(str(body.platform_url)))


@router.post(
    "/{order_id}/expire",
    response_model=ExpiredOut,
    responses={404: {"description": "Unknown order"}, 409: {"description": "Not a use-right, or still usable"}},
)
def expire_order(order_id: IdPath, node: NodeDep, _: OperatorDep) -> ExpiredOut:
    """Close a use-right order after its usage window: the unused credit is owed back to the buyer
    (``buyer_credit_wei``; withdraw it with ``POST /withdrawals``). Anyone's node may. Operator only."""
    node.contracts.market.order(order_id)
    with node.acting():
        credit, tx = market.expire_use_right(node.contracts, node.participant, order_id)
    return ExpiredOut(order=order_out(node.contracts, order_id), buyer_credit_wei=credit, tx=TxOut.of(tx))
