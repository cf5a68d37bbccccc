"""Request and response bodies. Requests are validated strictly (bounded ints and strings, address format);
responses carry no secrets: no keys, no session tokens except the one just issued to its owner, no file paths
outside the node's own store. Amounts are wei (JSON integers, which may exceed 2^53), times Unix seconds,
hashes 0x-hex."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from datagora.domain.models import Auction, Listing, Order, Organisation, SaleKind, TxResult
from datagora.services.audit import AuditRecord
from datagora.services.relay import BoardEntry, BoardView, RelayedCiphertext

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""Free text without control characters (PostgreSQL refuses NUL; none belongs in a name or a query)."""
MAX_ID = 2**63 - 1
MAX_WEI = 2**256 - 1
MAX_WINDOW = 2**64 - 1
MAX_QUERIES = 1_000_000
"""``Market.MAX_QUERIES``: the most queries one use-right order may buy."""

Address = Annotated[str, Field(pattern=ADDRESS_PATTERN, examples=["0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"])]
Wei = Annotated[int, Field(ge=0, le=MAX_WEI)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Hex32 = Annotated[str, Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$")]
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW, description="Seconds; the Market contract sets the bounds.")]


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body. Read its fields as attributes; ``body["field"]``, ``body.get("field")``, ``"field" in
    body`` and ``body == {...}`` also work, for callers written when ``NodeClient`` returned the JSON as dicts."""

    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in type(self).model_fields else default

    def __contains__(self, name: object) -> bool:
        return name in type(self).model_fields

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):  # the JSON as a dict
            return self.model_dump() == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


# -- node and auth -------------------------------------------------------------------------------------------


class Roles(Out):
    platform: bool
    supervisor: bool


class NodeInfo(Out):
    """Public facts about the node: whom it acts for, on which chain, which roles it holds."""

    address: str
    chain_id: int
    contracts: dict[str, str]
    roles: Roles
    siwe_domain: str


class NonceOut(Out):
    nonce: str
    expires_at: int
    domain: str = Field(description="The EIP-4361 domain the sign-in message must name.")
    uri: str = Field(description="The EIP-4361 URI the sign-in message must name: this node's base URL.")
    chain_id: int


class LoginIn(Strict):
    message: str = Field(min_length=1, max_length=1024, description="EIP-4361 message text.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-191 personal_sign, 65 bytes.")


class LoginOut(Out):
    token: str
    token_type: Literal["bearer"] = "bearer"
    address: str
    expires_at: int


class MeOut(Out):
    address: str
    expires_at: int
    operator: bool
    supervisor: bool
    audited: bool


# -- common --------------------------------------------------------------------------------------------------


class TxOut(Out):
    tx_hash: str
    block_number: int
    gas_used: int

    @classmethod
    def of(cls, tx: TxResult) -> TxOut:
        return cls(tx_hash=tx.tx_hash, block_number=tx.block_number, gas_used=tx.gas_used)


# -- organisations -------------------------------------------------------------------------------------------


class OrganisationIn(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)


class OrganisationOut(Out):
    id: int
    name: str
    status: Literal["to-audit", "audited", "suspended"]
    members: int

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        status = org.status.name.lower().replace("_", "-")
        return cls(id=org.id, name=org.name, status=status, members=org.members)  # type: ignore[arg-type]


class OrganisationTxOut(Out):
    organisation: OrganisationOut
    tx: TxOut


class StatusIn(Strict):
    status: Literal["to-audit", "audited", "suspended"]


# -- datasets ------------------------------------------------------------------------------------------------


class DatasetOut(Out):
    token_id: int
    name: str
    domain: str
    attributes: str
    size: int = Field(description="Rows of a table, bytes otherwise.")
    owner: str
    content_hash: str
    listing_id: int | None
    price_wei: int | None = Field(
        description="Of the open listing, in the payment token's smallest unit: the fixed price, the asking price "
        "(negotiated), the reserve (auction) or the price per query (use-right)."
    )
    sale_kind: str | None = Field(description="ownership or use-right")
    pricing: str | None = Field(default=None, description="fixed, negotiated or auction")
    payment_token: str | None = Field(default=None, description="The zero address for ether, else an ERC-20.")


class DatasetDetail(DatasetOut):
    description_hash: str
    dcat_hash: str
    fingerprint_commitment: str


class SearchOut(Out):
    total: int | None = Field(
        description="Matches, counted up to a cap (then ``total_capped`` is true); null when not counted."
    )
    total_capped: bool = False
    has_more: bool = False
    limit: int
    offset: int
    hits: list[DatasetOut]


class PublishedOut(Out):
    token_id: int
    name: str
    domain: str
    size: int
    content_hash: str
    dcat_hash: str
    attester: str
    attestation_expiry: int
    tx: TxOut


class RetiredOut(Out):
    """A retired dataset: the listings the node cancelled, the prepaid use-right orders whose unused credit
    returns to their buyers when their usage window ends, how many ciphertexts and files were destroyed."""

    token_id: int
    cancelled_listings: list[int]
    refunding_orders: list[int]
    shredded_blobs: int
    shredded_files: int
    txs: list[TxOut]


# -- attestations --------------------------------------------------------------------------------------------


class SampleSearchOut(Out):
    """One search by sample in the platform's log: Unix seconds ``at``, the searcher, the sample's kind and
    distinct rows (tables), the outcome and the datasets answered; ``prev`` chains the log's lines (SHA-256)."""

    at: int
    account: str
    kind: str
    rows: int
    outcome: str
    matches: list[int]
    prev: str


class AttestationOut(Out):
    """The platform's EIP-712 ``NoveltyAttestation`` signature and the values it covers."""

    publisher: str
    content_hash: str
    description_hash: str
    fingerprint_commitment: str
    dcat_hash: str
    expiry: int
    signature: str
    attester: str


MAX_FINGERPRINT_BYTES = 32 * 1024


class PublishedNoteIn(Strict):
    fingerprint: str = Field(
        max_length=2 + 2 * MAX_FINGERPRINT_BYTES,
        pattern=r"^(0x)?[0-9a-fA-F]+$",
        description="The serialised fingerprint that was attested, hex (its length depends on the method).",
    )
    token_id: Id

    @field_validator("fingerprint")
    @classmethod
    def _whole_bytes(cls, value: str) -> str:
        if len(value.removeprefix("0x")) % 2:
            raise ValueError("hex of whole bytes expected (an even number of digits)")
        return value


# -- listings ("offers" in the routes) and orders ------------------------------------------------------------


def term(value: object) -> str:
    """An enum member's name as the API spells it: ``USE_RIGHT`` → ``"use-right"``."""
    return str(getattr(value, "name", value)).lower().replace("_", "-")


class ListingIn(Strict):
    """A sale of a dataset's ownership: at a fixed price, for negotiation (buyers make offers, ``price_wei`` is
    the asking price) or by English auction (``price_wei`` is the reserve; ``min_increment_wei`` and ``duration``
    required). Both parties post ``collateral_wei`` (double deposit); the default is 100 % of the price."""

    token_id: Id
    price_wei: Annotated[
        int, Field(ge=1, le=MAX_WEI, description="The fixed price, the asking price (negotiated) or the reserve.")
    ]
    pricing: Literal["fixed", "negotiated", "auction"] = "fixed"
    delivery_window: Window = 86_400
    confirm_window: Window = 86_400
    collateral_wei: Wei | None = Field(default=None, description="Default: the price (100 %).")
    payment_token: Address | None = Field(default=None, description="An ERC-20 to be paid in (default: ether).")
    min_increment_wei: Annotated[int, Field(ge=1, le=MAX_WEI)] | None = Field(
        default=None, description="Auction only (required there): the smallest raise over the highest bid."
    )
    duration: Window | None = Field(default=None, description="Auction only (required there): seconds it runs.")


class AuctionOut(Out):
    end_time: int
    min_increment: int
    highest_bidder: str | None
    highest_bid: int

    @classmethod
    def of(cls, auction: Auction) -> AuctionOut:
        bidder = auction.highest_bidder if int(auction.highest_bidder, 16) else None
        return cls(
            end_time=auction.end_time,
            min_increment=auction.min_increment,
            highest_bidder=bidder,
            highest_bid=auction.highest_bid,
        )


class ListingOut(Out):
    listing_id: int
    seller: str
    token_id: int
    kind: Literal["ownership", "use-right"]
    pricing: Literal["fixed", "negotiated", "auction"]
    price_wei: int = Field(
        description="In the payment token's smallest unit: the fixed price, the asking price, the reserve or the "
        "price per query."
    )
    collateral_wei: int = Field(description="What each party deposits (ownership sales; 0 for use-rights).")
    payment_token: str = Field(description="The zero address for ether, else an ERC-20.")
    delivery_window: int = Field(description="Seconds to deliver after payment (use-right: the usage window).")
    confirm_window: int
    max_queries: int = Field(description="Most queries one use-right order may buy (0 for ownership).")
    state: str
    auction: AuctionOut | None = None

    @classmethod
    def of(cls, listing: Listing, auction: Auction | None = None) -> ListingOut:
        return cls(
            listing_id=listing.id,
            seller=listing.seller,
            token_id=listing.token_id,
            kind=term(listing.kind),  # type: ignore[arg-type]
            pricing=term(listing.pricing),  # type: ignore[arg-type]
            price_wei=listing.price,
            collateral_wei=listing.collateral,
            payment_token=listing.payment_token,
            delivery_window=listing.delivery_window,
            confirm_window=listing.confirm_window,
            max_queries=listing.max_queries,
            state=term(listing.state),
            auction=AuctionOut.of(auction) if auction is not None else None,
        )


class ListingCreated(Out):
    offer: ListingOut
    txs: list[TxOut]


class BuyIn(Strict):
    listing_id: Id
    value_wei: Wei | None = Field(
        default=None, description="Ether to send. Default: the price plus the collateral (nothing for an ERC-20)."
    )
    queries: Annotated[int, Field(ge=1, le=MAX_QUERIES)] | None = Field(
        default=None, description="Use-right listings: how many queries to prepay (required there, refused elsewhere)."
    )


class OrderOut(Out):
    order_id: int
    listing_id: int
    buyer: str
    kind: Literal["ownership", "use-right"]
    amount_wei: int = Field(description="Held in escrow: the price, or for a use-right the credit left.")
    collateral_wei: int = Field(description="The buyer's deposit held with it (ownership sales).")
    payment_token: str
    fee_bps: int
    fee_wei: int = Field(description="The platform's brokerage fee on completion of an ownership sale.")
    deadline: int = Field(description="The current deadline: delivery, confirmation, dispute or usage window.")
    state: str
    delivery_hash: str | None
    queries_total: int
    queries_left: int

    @classmethod
    def of(cls, order: Order, listing: Listing) -> OrderOut:
        return cls(
            order_id=order.id,
            listing_id=order.listing_id,
            buyer=order.buyer,
            kind=term(listing.kind),  # type: ignore[arg-type]
            amount_wei=order.amount,
            collateral_wei=listing.collateral if listing.kind == SaleKind.OWNERSHIP else 0,
            payment_token=listing.payment_token,
            fee_bps=order.fee_bps,
            fee_wei=order.fee,
            deadline=order.deadline,
            state=term(order.state),
            delivery_hash=hex0x(order.delivery_hash) if any(order.delivery_hash) else None,
            queries_total=order.queries_total,
            queries_left=order.queries_left,
        )


class OrderTxOut(Out):
    order: OrderOut
    tx: TxOut


class DeliverIn(Strict):
    relay_url: HttpUrl | None = Field(
        default=None, description="Base URL of the platform's node: relay the ciphertext through it (Wu step 13)."
    )


class RelayIn(Strict):
    relay_url: Annotated[HttpUrl, Field(description="Base URL of the platform's node.")]


class ReceiveIn(Strict):
    """Where to fetch the ciphertext: exactly one of the seller's node and the platform's relay."""

    seller_url: HttpUrl | None = Field(default=None, description="Base URL of the seller's node.")
    relay_url: HttpUrl | None = Field(default=None, description="Base URL of the platform's node (its relay).")

    @model_validator(mode="after")
    def _one_source(self) -> ReceiveIn:
        if (self.seller_url is None) == (self.relay_url is None):
            raise ValueError("give exactly one of seller_url and relay_url")
        return self


# -- use-rights per query (Wu et al. section II) -------------------------------------------------------------


class UseRightIn(Strict):
    """Use-rights per query on a tabular dataset the node's account owns (it keeps the NFT). ``policy`` is a
    W3C ODRL 2.2 policy in JSON-LD (``datagora.query.UsagePolicy``); default: aggregates only (count, sum, avg),
    groups of at least 5 rows, no raw rows, differentially private answers (``exact_answers`` opts out)."""

    token_id: Id
    price_per_query_wei: Annotated[int, Field(ge=1, le=MAX_WEI, description="In the payment token's smallest unit.")]
    max_queries: Annotated[int, Field(ge=1, le=MAX_QUERIES, description="Most queries one order may buy.")] = 100
    usage_window: Window = 30 * 86_400
    payment_token: Address | None = Field(default=None, description="An ERC-20 to be paid in (default: ether).")
    policy: dict[str, Any] | None = Field(default=None, description="ODRL JSON-LD; its keccak256 goes on chain.")
    exact_answers: bool = Field(
        default=False,
        description="Without a policy: answer exactly instead of with differential privacy. Exact answers let a "
        "buyer work out single people's values from a few queries.",
    )


class UseRightCreated(Out):
    offer: ListingOut
    policy: dict[str, Any] = Field(description="The ODRL policy the node enforces, JSON-LD.")
    policy_hash: str = Field(description="keccak256 of its canonical JSON, committed on chain.")
    tx: TxOut


class PolicyOut(Out):
    listing_id: int
    token_id: int
    policy: dict[str, Any] = Field(description="The W3C ODRL 2.2 policy (JSON-LD) the seller's node enforces.")
    policy_hash: str = Field(description="keccak256 of the policy's canonical JSON.")
    on_chain_hash: str | None = Field(description="The hash the listing committed (event UseRightTerms).")
    matches_chain: bool


class QueryRequestIn(Strict):
    """``QueryRequest.to_dict()``: the buyer's EIP-712 signature over ``QueryRequest(orderId, index, queryHash)``
    (domain "Datagora UseRights") and the query in the ``QuerySpec`` wire form (never SQL)."""

    order_id: Id
    index: Annotated[int, Field(ge=0, le=MAX_QUERIES, description="0-based: the order's next query.")]
    query: dict[str, Any] = Field(description="QuerySpec: select, where, group_by, order_by, limit.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 by the buyer, 65 bytes.")


class QueryResultOut(Out):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = Field(description="The policy's row cap cut rows.")
    privacy: dict[str, Any] | None = Field(
        description="For a differentially private answer: mechanism, epsilon, delta, group_threshold (the noisy "
        "count a group needs to be shown), group_count_scale (that count's noise scale) and, per aggregate column, "
        "its mechanism, epsilon, noise scale and value range; null for an exact answer. Part of the hashed result."
    )


class PrivacyBudgetOut(Out):
    """A buyer's differential-privacy budget on a dataset, as the seller's node keeps it across all the buyer's
    orders (buying again does not renew it)."""

    order_id: int
    listing_id: int
    token_id: int
    buyer: str = Field(description="Whose budget: organisation:<id> or account:<address>.")
    exact_answers: bool = Field(description="The listing answers exactly: no budget is kept.")
    epsilon_per_query: float
    epsilon_budget: float
    epsilon_spent: float
    epsilon_left: float
    delta_spent: float
    answers: int = Field(description="Differentially private answers given so far.")
    answers_left: int


class QueryAnswerOut(Out):
    """The seller's node's answer: the result, its keccak256 (recorded on chain with the query's) and the
    ``record_query`` transaction that paid for it."""

    order_id: int
    index: int
    result: QueryResultOut
    result_hash: str
    queries_left: int
    tx_hash: str
    block_number: int
    gas_used: int


class AskIn(Strict):
    seller_url: Annotated[HttpUrl, Field(description="Base URL of the seller's node.")]
    query: dict[str, Any] = Field(description="QuerySpec wire form: select, where, group_by, order_by, limit.")


class AskedOut(QueryAnswerOut):
    verified: bool = Field(description="The result hashes to what the seller recorded on chain for this query.")


# -- relay and send-receive board (Wu et al. section III.A steps 13-22) --------------------------------------


class NoticeIn(Strict):
    """A :class:`~datagora.services.relay.DeliveryNotice` and its author's EIP-712 signature."""

    order_id: Id
    seller: Address
    buyer: Address
    delivery_hash: Hex32 = Field(description="SHA-256 of the ciphertext sent (seller) or received (buyer).")
    timestamp: Annotated[int, Field(ge=0, le=MAX_ID, description="t1 (sent) or t2 (received), Unix seconds.")]
    received: bool
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712, 65 bytes r || s || v.")
    fingerprint_hash: Hex32 = Field(
        default="0x" + "00" * 32,
        description="keccak256 of the data fingerprint (f_S or f_B, steps 17 and 21); zero when none is sent.",
    )
    encrypted_fingerprint: str | None = Field(
        default=None,
        max_length=2 + 2 * (MAX_FINGERPRINT_BYTES + 1024),
        pattern=r"^(0x)?([0-9a-fA-F]{2})+$",
        description="E_PkP(f): the fingerprint ECIES-encrypted to the platform's Registry key, hex.",
    )


class BoardEntryOut(Out):
    entry_id: int
    kind: Literal["sent", "received"]
    order_id: int
    sender: str
    seller: str
    buyer: str
    delivery_hash: str
    timestamp: int
    received: bool
    signature: str
    recorded_at: int = Field(description="When the platform recorded it (its clock, Unix seconds).")
    fingerprint_hash: str = Field(description="keccak256 of the fingerprint the author sent (zero: none).")

    @classmethod
    def of(cls, entry: BoardEntry) -> BoardEntryOut:
        n = entry.notice
        return cls(
            entry_id=entry.entry_id,
            kind="received" if n.received else "sent",
            order_id=n.order_id,
            sender=n.sender,
            seller=n.seller,
            buyer=n.buyer,
            delivery_hash=hex0x(n.delivery_hash),
            timestamp=n.timestamp,
            received=n.received,
            signature=hex0x(entry.signature),
            recorded_at=entry.recorded_at,
            fingerprint_hash=hex0x(n.fingerprint_hash),
        )


class RelayedOut(Out):
    order_id: int
    delivery_hash: str
    size: int = Field(description="Ciphertext bytes, served to the buyer at GET /relay/{order_id}.")
    uploaded_by: str
    uploaded_at: int

    @classmethod
    def of(cls, relayed: RelayedCiphertext) -> RelayedOut:
        return cls(
            order_id=relayed.order_id,
            delivery_hash="0x" + relayed.blob,
            size=relayed.size,
            uploaded_by=relayed.uploaded_by,
            uploaded_at=relayed.uploaded_at,
        )


class RelayOut(Out):
    """What the platform answered a seller's node that relayed a delivery: the upload and the "sent" entry."""

    upload: RelayedOut
    notice: BoardEntryOut


class BoardOut(Out):
    order_id: int
    state: str
    seller: str
    buyer: str
    delivery_hash: str | None = Field(description="Committed on chain.")
    relayed: RelayedOut | None
    entries: list[BoardEntryOut]
    consistent: bool | None = Field(
        description="Step 22: the latest sent and received hashes equal the delivery hash, and the fingerprints "
        "match when both were sent (null until both notices exist)."
    )
    fingerprints_match: bool | None = Field(
        default=None, description="f_S and f_B are the same data (null unless both notices carried one)."
    )
    similarity: float | None = Field(default=None, description="Similarity of f_S and f_B, 0..1.")

    @classmethod
    def of(cls, view: BoardView) -> BoardOut:
        order = view.order
        return cls(
            order_id=order.id,
            state=order.state.name.lower(),
            seller=view.seller,
            buyer=order.buyer,
            delivery_hash=hex0x(order.delivery_hash) if any(order.delivery_hash) else None,
            relayed=RelayedOut.of(view.relayed) if view.relayed is not None else None,
            entries=[BoardEntryOut.of(e) for e in view.entries],
            consistent=view.consistent,
            fingerprints_match=view.fingerprints_match,
            similarity=view.similarity,
        )


class DeliveredOut(Out):
    order: OrderOut
    delivery_hash: str
    size: int = Field(description="Ciphertext bytes, served at GET /deliveries/{order_id}.")
    tx: TxOut
    relay: RelayOut | None = Field(default=None, description="When relayed through the platform.")


class ReceivedOut(Out):
    order_id: int
    token_id: int
    content_hash: str
    size: int
    stored_as: str = Field(description="File name under the node's received/ directory.")
    notice: BoardEntryOut | None = Field(
        default=None, description="The buyer's signed notice on the platform's board, when received from the relay."
    )


# -- disputes and deadlines (Wu et al. section IV.A.3-5) -----------------------------------------------------


class ReuploadOut(Out):
    order_id: int
    sha256: str = Field(description="Of the re-upload E_PkP(D') the platform holds.")
    size: int
    uploaded_by: str
    uploaded_at: int


class DisclosureIn(Strict):
    encrypted_key: str = Field(
        max_length=2 + 2 * 1024,
        pattern=r"^(0x)?([0-9a-fA-F]{2})+$",
        description="E_PkP(k): the data key of the delivered ciphertext, ECIES-encrypted to the platform, hex.",
    )


class DisclosureOut(Out):
    order_id: int
    disclosed_by: str
    disclosed_at: int


class DeliveryCheckOut(Out):
    """Step 22: ``consistent`` (null while a notice is missing), the similarity of f_S and f_B, and what the
    platform did: ``wait``, ``confirm`` (the buyer may confirm) or ``dispute`` (``tx`` disputed the order)."""

    order_id: int
    consistent: bool | None
    similarity: float | None
    action: Literal["wait", "confirm", "dispute"]
    tx: TxOut | None
    order: OrderOut


class CopyOut(Out):
    sha256: str = Field(description="Of E_PkB(D'), served to the buyer at GET /disputes/{order_id}/copy.")
    size: int


class ResolutionOut(Out):
    order_id: int
    ruling: Literal["for-seller", "redelivered", "for-buyer"]
    seller_honest: bool
    content_match: bool = Field(description="SHA-256 of D' is the content hash in Catalog.")
    similarity: float = Field(description="Of f_{D',P} to the fingerprint attested at publication.")
    transmitted_ok: bool | None = Field(description="What the seller sent was the dataset (null: no key disclosed).")
    evidence_hash: str
    buyer_copy: CopyOut | None = Field(description="E_PkB(D') when the data is good.")
    tx: TxOut
    order: OrderOut


class DeadlinesIn(Strict):
    first_order: Id = Field(default=1, description="Check orders from this id on.")


class DeadlineActionOut(Out):
    order_id: int
    action: Literal["refund", "release", "unwind", "expire"]
    tx: TxOut


class DeadlinesOut(Out):
    count: int
    actions: list[DeadlineActionOut]


class WithdrawIn(Strict):
    payment_token: Address | None = Field(default=None, description="An ERC-20 (default: ether).")


class WithdrawalOut(Out):
    amount_wei: int = Field(description="In the payment token's smallest unit.")
    payment_token: str
    tx: TxOut


# -- audit ---------------------------------------------------------------------------------------------------


class AuditRecordOut(Out):
    actor: str
    action: str
    detail: str
    timestamp: int
    block_number: int
    tx_hash: str
    contract: str
    log_index: int = 0

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        return cls(**asdict(record))


class AuditTrailOut(Out):
    count: int
    records: list[AuditRecordOut]
