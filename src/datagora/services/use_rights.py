"""Use-rights sold per query (Wu et al. section II: "a sale of right to use data").

The data owner lists a use-right on a tabular dataset with a per-query price, a maximum number of queries per
order, a usage window and a W3C ODRL usage policy (:class:`~datagora.query.UsagePolicy`, e.g. aggregates only,
minimum group size k, no raw rows) whose keccak256 is recorded on chain. A buyer prepays N queries
(:func:`buy_queries`). For each query the buyer signs an EIP-712 ``QueryRequest(orderId, index, queryHash)``
(:func:`sign_query`) and sends it to the owner's node, which checks the signature and the policy, runs the
query over its own copy with DuckDB (:class:`~datagora.query.QueryRunner`) and records it on chain with the
result's keccak256 (:func:`answer_query`): the query's price moves from the buyer's credit to the owner (less the
brokerage fee). Queries the policy forbids are refused before anything is paid. Answers are differentially
private unless the owner opted out (:mod:`datagora.query.privacy`): each spends the policy's epsilon from a
privacy budget per buyer organisation and dataset that the owner's node keeps across all orders
(:func:`privacy_budget`), and the query that would exceed it is refused. After the usage window anyone
returns the unused credit to the buyer (``market.expire``). The data never leaves the owner's node; only the
aggregate result does. All of it happens in the UseRights contract (``contracts.use_rights``), which owes and
pays out the seller's share, the platform's fee and the buyer's unused credit.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from datagora.chain.contracts import Contracts
from datagora.crypto.eip712 import recover_typed_data, sign_typed_data
from datagora.crypto.envelope import decrypt_stream
from datagora.domain.errors import AccessDenied, CryptoError, NotFoundError, ValidationError
from datagora.domain.models import ETHER, Dataset, Order, OrderState, SaleKind, TxResult
from datagora.query import QueryResult, QueryRunner, QuerySpec, UsagePolicy
from datagora.services.market import DAY, approve_payment, order_context
from datagora.services.market import buy as market_buy
from datagora.services.participant import Participant
from datagora.storage.privacy_ledger import BudgetExceeded, BudgetUse, PrivacyLedger

USE_RIGHTS_DOMAIN_NAME = "Datagora UseRights"
USE_RIGHTS_DOMAIN_VERSION = "1"
QUERY_REQUEST_FIELDS = [
    {"name": "orderId", "type": "uint256"},
    {"name": "index", "type": "uint256"},
    {"name": "queryHash", "type": "bytes32"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def query_request_typed_data(
    chain_id: int, use_rights: str, order_id: int, index: int, query_hash: bytes
) -> dict[str, Any]:
    """EIP-712 typed data of ``QueryRequest(uint256 orderId,uint256 index,bytes32 queryHash)`` under the
    domain ``{name: "Datagora UseRights", version: "1", chainId, verifyingContract: use_rights}`` (UseRights.vy
    ``QUERY_REQUEST_TYPEHASH``)."""
    return {
        "types": {"EIP712Domain": list(_DOMAIN_FIELDS), "QueryRequest": list(QUERY_REQUEST_FIELDS)},
        "primaryType": "QueryRequest",
        "domain": {
            "name": USE_RIGHTS_DOMAIN_NAME,
            "version": USE_RIGHTS_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": use_rights,
        },
        "message": {"orderId": order_id, "index": index, "queryHash": "0x" + query_hash.hex()},
    }


@dataclass(frozen=True)
class QueryRequest:
    """A buyer's signed request for query ``index`` (0-based) of use-right order ``order_id``."""

    order_id: int
    index: int
    spec: QuerySpec
    signature: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "index": self.index,
            "query": self.spec.to_dict(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> QueryRequest:
        """Parse :meth:`to_dict` output; ``ValidationError`` when malformed."""
        try:
            signature = bytes.fromhex(str(doc["signature"]).removeprefix("0x"))
            return cls(int(doc["order_id"]), int(doc["index"]), QuerySpec.from_dict(doc["query"]), signature)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed query request: {exc}") from exc


@dataclass(frozen=True)
class QueryAnswer:
    """The owner's answer: the result, and the transaction that recorded the query and paid for it."""

    order_id: int
    index: int
    result: QueryResult
    tx: TxResult


def list_use_right(
    contracts: Contracts,
    seller: Participant,
    token_id: int,
    price_per_query: int,
    policy: UsagePolicy | None = None,
    *,
    max_queries: int = 100,
    usage_window: int = 30 * DAY,
    payment_token: str = ETHER,
) -> tuple[int, TxResult]:
    """Sell use-rights per query on dataset ``token_id`` (the owner keeps the NFT). The ODRL ``policy`` (None:
    :func:`default_policy`) is kept in the owner's node (records ``policies/<listing id>``, read back with
    :func:`policy_of`) and its keccak256 goes on chain. The policy carries the query count as an ``odrl:count``
    constraint (``count lteq max_queries``): a policy without one gets it, a policy with another count is refused.
    A differentially private policy that declares no value ranges gets, for every numeric column it permits, the
    column's smallest and largest value rounded outward to two significant digits (:func:`rounded_ranges`): the
    owner should declare them instead where even that rough extent is sensitive.
    Returns the listing id. Raises ``ValidationError`` (price, query count, window, a non-tabular dataset, a policy
    count other than ``max_queries``), ``AccessDenied``, ``TransactionReverted``."""
    if price_per_query <= 0:
        raise ValidationError("price per query must be positive")
    if max_queries <= 0:
        raise ValidationError("the most queries per order must be positive")
    if usage_window <= 0:
        raise ValidationError("the usage window must be positive (seconds)")
    if policy is None:
        policy = default_policy(contracts.chain.chain_id, seller.address, token_id)
    if policy.max_queries is None:
        policy = replace(policy, max_queries=max_queries)
    elif policy.max_queries != max_queries:
        raise ValidationError(
            f"the policy allows {policy.max_queries} queries (odrl:count) but the listing sells at most {max_queries}"
        )
    dataset = contracts.catalog.dataset(token_id)
    if contracts.catalog.owner_of(token_id).lower() != seller.address.lower():
        raise AccessDenied(f"market: not token owner (dataset {token_id} is not owned by {seller.address})")
    record = seller.load_record("datasets", dataset.content_hash.hex())
    if Path(str(record.get("file", ""))).suffix.lower() not in (".csv", ".parquet", ".pq", ".tsv"):
        raise ValidationError(f"dataset {token_id} is not a table: use-rights per query need CSV or Parquet data")
    if policy.differential_privacy and not policy.value_ranges:
        with _own_runner(seller, record) as runner:
            extents = {c: e for c, e in runner.numeric_extents().items() if policy.permits_column(c)}
            policy = replace(policy, value_ranges=rounded_ranges(extents))
    listing_id, tx = contracts.use_rights.list_use_right(
        seller.account,
        token_id,
        price_per_query,
        max_queries,
        usage_window,
        policy.policy_hash(),
        payment_token=payment_token,
    )
    seller.save_record("policies", str(listing_id), {"token_id": token_id, "policy": policy.to_jsonld()})
    return listing_id, tx


def policy_of(seller: Participant, listing_id: int) -> UsagePolicy:
    """The ODRL policy the owner listed ``listing_id`` with (``NotFoundError`` when this node did not)."""
    try:
        record = seller.load_record("policies", str(listing_id))
    except (FileNotFoundError, NotFoundError) as exc:
        raise NotFoundError(f"no usage policy recorded for listing {listing_id} on this node") from exc
    return UsagePolicy.from_jsonld(record["policy"])


def buy_queries(contracts: Contracts, buyer: Participant, listing_id: int, queries: int) -> tuple[int, TxResult]:
    """Prepay ``queries`` queries (price × queries, approved first for an ERC-20). Returns the order id."""
    listing = contracts.market.listing(listing_id)
    if listing.kind != SaleKind.USE_RIGHT:
        raise ValidationError(f"listing {listing_id} does not sell use-rights")
    if not 0 < queries <= listing.max_queries:
        raise ValidationError(f"query count must be 1..{listing.max_queries}")
    amount = listing.price * queries
    approve_payment(contracts, buyer, listing.payment_token, amount, spender=contracts.use_rights.address)
    value = amount if listing.pays_in_ether else 0
    return contracts.use_rights.buy_queries(buyer.account, listing_id, queries, value)


def buy_listing(
    contracts: Contracts,
    buyer: Participant,
    listing_id: int,
    *,
    value_wei: int | None = None,
    queries: int | None = None,
) -> tuple[int, TxResult]:
    """Pay for a listing of either kind: prepay ``queries`` queries of a use-right (:func:`buy_queries`;
    ``value_wei`` refused there), or pay a fixed-price ownership listing into escrow (``market.buy``, with
    ``value_wei`` overriding the ether sent; ``queries`` refused). Returns the order id. Raises
    ``ValidationError``, ``NotFoundError``, ``TransactionReverted``."""
    listing = contracts.market.listing(listing_id)
    if listing.kind == SaleKind.USE_RIGHT:
        if queries is None or value_wei is not None:
            raise ValidationError(f"listing {listing_id} sells use-rights: give queries (and no value_wei)")
        return buy_queries(contracts, buyer, listing_id, queries)
    if queries is not None:
        raise ValidationError(f"listing {listing_id} sells ownership: queries are for use-right listings")
    return market_buy(contracts, buyer, listing_id, value_wei)


def sign_query(contracts: Contracts, buyer: Participant, order_id: int, spec: QuerySpec) -> QueryRequest:
    """Authorise the next query of ``order_id``: the EIP-712 signature over (order, next index, query hash).
    Raises ``AccessDenied`` (not the buyer), ``ValidationError`` (not a usable use-right order)."""
    order = contracts.market.order(order_id)
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    _check_usable(contracts, order)
    index = order.queries_total - order.queries_left
    typed = query_request_typed_data(
        contracts.chain.chain_id, contracts.use_rights.address, order_id, index, spec.query_hash()
    )
    return QueryRequest(order_id, index, spec, sign_typed_data(buyer.private_key, typed))


def _check_usable(contracts: Contracts, order: Order) -> None:
    order_id = order.id
    if not order.is_use_right:
        raise ValidationError(f"order {order_id} is not a use-right order")
    if order.state != OrderState.PAID:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: no queries can be run")
    if order.queries_left == 0:
        raise ValidationError(f"order {order_id} has no queries left")
    if contracts.chain.now() > order.deadline:
        raise ValidationError(f"the usage window of order {order_id} is over")


def answer_query(contracts: Contracts, seller: Participant, request: QueryRequest) -> QueryAnswer:
    """Run a buyer's query on the owner's node and record it on chain (which pays the owner).

    Checks, in order, before anything is paid: the caller sells the order's listing (``AccessDenied``), the
    order is a usable use-right order and ``request.index`` is the next query (``ValidationError``), the
    signature is the buyer's (``AccessDenied``), the query is allowed by the listing's ODRL policy
    (``AccessDenied`` naming the rule) and valid for the table (``ValidationError``), and, for a differentially
    private answer, that the buyer organisation's privacy budget on the dataset covers it (``AccessDenied``: the
    budget is spent before the query runs, so the refusal never depends on the data). The owner's encrypted copy
    is decrypted to a private temporary file for DuckDB and removed afterwards."""
    order, listing, dataset = order_context(contracts, request.order_id)
    if listing.seller.lower() != seller.address.lower():
        raise AccessDenied(f"order {request.order_id} is not a use-right sold by {seller.address}")
    _check_usable(contracts, order)
    expected = order.queries_total - order.queries_left
    if request.index != expected:
        raise ValidationError(f"query index {request.index} is stale: order {order.id} expects index {expected}")
    typed = query_request_typed_data(
        contracts.chain.chain_id, contracts.use_rights.address, order.id, request.index, request.spec.query_hash()
    )
    try:
        signer = recover_typed_data(typed, request.signature)
    except CryptoError as exc:
        raise AccessDenied(f"query request signature unreadable: {exc}") from exc
    if signer.lower() != order.buyer.lower():
        raise AccessDenied(f"the query request is signed by {signer}, not by the buyer {order.buyer}")
    policy = policy_of(seller, listing.id)
    record = seller.load_record("datasets", dataset.content_hash.hex())
    with _own_runner(seller, record) as runner:
        runner.check(request.spec, policy)
        if policy.differential_privacy:
            _spend(contracts, seller, dataset, order.buyer, policy, grouped=bool(request.spec.group_by))
        result = runner.run(request.spec, policy)
    tx = contracts.use_rights.record_query(
        seller.account, order.id, request.spec.query_hash(), result.result_hash(), request.signature
    )
    return QueryAnswer(order.id, request.index, result, tx)


@contextlib.contextmanager
def _own_runner(seller: Participant, record: dict[str, Any]) -> Iterator[QueryRunner]:
    """A :class:`QueryRunner` over the owner's own copy, decrypted to a private temporary file that is removed
    (with the runner closed) on exit."""
    work = seller.paths.tmp
    work.mkdir(exist_ok=True)
    suffix = Path(str(record.get("file", "data.csv"))).suffix or ".csv"
    plain = work / f"query-{secrets.token_hex(8)}{suffix}"
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with seller.store.open(record["blob"]) as src, os.fdopen(fd, "wb") as dst:
            decrypt_stream(src, dst, seller.private_key)
        with QueryRunner(plain) as runner:
            yield runner
    finally:
        plain.unlink(missing_ok=True)


def rounded_ranges(extents: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Each column's ``(smallest, largest)`` widened outward to two significant digits (``(18.0, 42.2)`` →
    ``(18, 43)``, ``(25, 346)`` → ``(25, 350)``); a constant column gets a range one unit wide."""
    out: dict[str, tuple[float, float]] = {}
    for column, (low, high) in extents.items():
        low, high = _round_out(low, math.floor), _round_out(high, math.ceil)
        if low >= high:
            high = low + 1.0
        out[column] = (low, high)
    return out


def _round_out(value: float, direction: Any) -> float:
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    return float(direction(value / step) * step)


def buyer_key(contracts: Contracts, buyer: str) -> str:
    """Whose privacy budget a buyer spends: its organisation's (``organisation:<id>``) when it belongs to one in
    the Registry, else its own (``account:<address>``)."""
    org_id = contracts.registry.organisation_of(buyer)
    return f"organisation:{org_id}" if org_id else f"account:{buyer.lower()}"


def _dataset_key(dataset: Dataset) -> str:
    """The ledger's key of a dataset: its content hash (SHA-256, hex), the same whichever listing sells it."""
    return dataset.content_hash.hex()


def _ledger(seller: Participant) -> PrivacyLedger:
    return PrivacyLedger(seller.paths.privacy_ledger)


def _spend(
    contracts: Contracts, seller: Participant, dataset: Dataset, buyer: str, policy: UsagePolicy, *, grouped: bool
) -> BudgetUse:
    from datagora.query.privacy import GROUP_DELTA

    key = buyer_key(contracts, buyer)
    try:
        return _ledger(seller).spend(
            _dataset_key(dataset), key, policy.epsilon_per_query, GROUP_DELTA if grouped else 0.0, policy.privacy_budget
        )
    except BudgetExceeded as exc:
        raise AccessDenied(
            f"privacy budget: this answer would spend epsilon {policy.epsilon_per_query:g}, but {key} has spent "
            f"{exc.spent.epsilon:g} of its {policy.privacy_budget:g} on dataset {dataset.token_id} (the budget "
            "covers all orders and does not renew)"
        ) from None


@dataclass(frozen=True)
class PrivacyBudget:
    """A buyer's privacy budget on a dataset as the owner's node keeps it. ``exact_answers``: the listing answers
    without noise (then the epsilon figures are 0 and nothing is spent); ``buyer``: ``organisation:<id>`` or
    ``account:<address>``; ``epsilon_budget`` and ``epsilon_per_query`` from the listing's policy;
    ``epsilon_spent`` / ``delta_spent`` / ``answers`` over all orders of that buyer on dataset ``token_id`` (the
    ledger keys a dataset by its content hash, so every listing of it shares one budget)."""

    order_id: int
    listing_id: int
    token_id: int
    buyer: str
    exact_answers: bool
    epsilon_per_query: float
    epsilon_budget: float
    epsilon_spent: float
    delta_spent: float
    answers: int

    @property
    def epsilon_left(self) -> float:
        return max(self.epsilon_budget - self.epsilon_spent, 0.0)

    @property
    def answers_left(self) -> int:
        """Differentially private answers the budget still covers (0 for exact answers: nothing is counted)."""
        if self.exact_answers:
            return 0
        return int((self.epsilon_left + 1e-9) // self.epsilon_per_query)


def privacy_budget(contracts: Contracts, seller: Participant, order_id: int) -> PrivacyBudget:
    """The privacy budget of ``order_id``'s buyer on its dataset, read from this (the seller's) node. Raises
    ``AccessDenied`` when this node did not sell the order, ``ValidationError`` when it is not a use-right."""
    order, listing, dataset = order_context(contracts, order_id)
    if not order.is_use_right:
        raise ValidationError(f"order {order_id} is not a use-right order")
    if listing.seller.lower() != seller.address.lower():
        raise AccessDenied(f"order {order_id} is not a use-right sold by {seller.address}")
    policy = policy_of(seller, listing.id)
    key = buyer_key(contracts, order.buyer)
    spent = _ledger(seller).spent(_dataset_key(dataset), key)
    exact = policy.exact_answers
    return PrivacyBudget(
        order_id=order_id,
        listing_id=listing.id,
        token_id=listing.token_id,
        buyer=key,
        exact_answers=exact,
        epsilon_per_query=0.0 if exact else policy.epsilon_per_query,
        epsilon_budget=0.0 if exact else policy.privacy_budget,
        epsilon_spent=spent.epsilon,
        delta_spent=spent.delta,
        answers=spent.answers,
    )


def verify_answer(contracts: Contracts, order_id: int, index: int, result: QueryResult) -> bool:
    """The buyer's check: the result it received hashes to what the owner recorded on chain for query
    ``index`` of ``order_id`` (event ``QueryAnswered``)."""
    for ev in contracts.use_rights.events("QueryAnswered", order_id, index):
        return bytes(ev.args["result_hash"]) == result.result_hash()
    return False


class QueryPeer(Protocol):
    """The seller's node seen from the buyer: it answers a signed :class:`QueryRequest` with the result and the
    ``record_query`` transaction (``datagora.api.client.NodeClient`` signed in as the buyer is one)."""

    def submit_query(self, request: QueryRequest) -> QueryAnswer: ...


@dataclass(frozen=True)
class CheckedAnswer:
    """A query the buyer ran on the seller's node: the signed ``request``, the seller's ``answer``, whether the
    result hashes to what the seller recorded on chain (``verified``) and the queries left on the order."""

    request: QueryRequest
    answer: QueryAnswer
    verified: bool
    queries_left: int


def ask(
    contracts: Contracts, buyer: Participant, order_id: int, spec: QuerySpec, seller_node: QueryPeer
) -> CheckedAnswer:
    """The buyer's query flow: sign the next query of ``order_id`` (:func:`sign_query`), send it to the seller's
    node, and check the answer is for that query and hashes to the result hash recorded on chain
    (:func:`verify_answer`). The CLI's ``datagora query`` and the buyer node's ``POST /orders/{id}/ask`` both
    run it. Raises as :func:`sign_query`, and the peer's errors (the seller's refusals)."""
    request = sign_query(contracts, buyer, order_id, spec)
    answer = seller_node.submit_query(request)
    verified = (
        answer.order_id == order_id
        and answer.index == request.index
        and verify_answer(contracts, order_id, request.index, answer.result)
    )
    return CheckedAnswer(request, answer, verified, contracts.market.order(order_id).queries_left)


EXACT_ANSWERS_WARNING = (
    "a buyer can work out single people's values from two or three queries (for example the sum "
    "over a group with and without one person). Keep differential privacy unless the table holds nothing about "
    "people."
)
"""What exact answers let a buyer learn: the owner reads it before opting out of differential privacy (the CLI
and the listing page show it)."""

DEFAULT_K = 5
"""Minimum group size of the default policy: an aggregate over fewer rows is suppressed."""


def default_policy(
    chain_id: int, seller: str, token_id: int, *, k: int = DEFAULT_K, exact_answers: bool = False
) -> UsagePolicy:
    """``UsagePolicy.aggregates_only(k)`` (count, sum and avg; groups of at least ``k`` rows; no raw rows; at
    most 1,000 rows per result; differentially private answers with the default epsilon per query and privacy
    budget unless ``exact_answers``) for dataset ``token_id`` offered by ``seller``: ``uid``
    ``urn:datagora:policy:dataset-<id>``, ``assigner`` the seller as a ``did:pkh`` (CAIP-10 account on
    ``chain_id``), ``target`` ``urn:datagora:dataset:<id>``."""
    return UsagePolicy.aggregates_only(
        uid=f"urn:datagora:policy:dataset-{token_id}",
        assigner=f"did:pkh:eip155:{chain_id}:{seller}",
        target=f"urn:datagora:dataset:{token_id}",
        k=k,
        exact_answers=exact_answers,
    )


def policy_hash_on_chain(contracts: Contracts, listing_id: int) -> bytes | None:
    """The keccak256 of the ODRL policy use-right listing ``listing_id`` committed (event ``UseRightTerms``), or
    None when the listing sells no use-right."""
    for event in contracts.use_rights.events("UseRightTerms", listing_id):
        return bytes(event.args["policy_hash"])
    return None
