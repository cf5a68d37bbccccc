"""Typed bindings of the Datagora contracts, their deployment, and the per-chain deployments file.

Every write takes the signing account, returns a :class:`~datagora.domain.models.TxResult` with the decoded
events, and raises :class:`~datagora.domain.errors.TransactionReverted` with the contract's message
(``"market: wrong price"``) when a guard fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import MismatchedABI, Web3ValidationError
from web3.types import TxReceipt

from datagora.chain.artifacts import CONTRACT_NAMES, load_artifact
from datagora.chain.client import Chain
from datagora.domain.errors import DeploymentError, NotFoundError, ValidationError
from datagora.domain.models import (
    ETHER,
    AccountKind,
    Auction,
    ChainEvent,
    Dataset,
    DatasetDescription,
    Listing,
    ListingState,
    Offer,
    OfferState,
    Order,
    OrderState,
    Organisation,
    OrgStatus,
    Pricing,
    Ruling,
    SaleKind,
    TxResult,
)
from datagora.fsutil import atomic_write_json

DEFAULT_FEE_BPS = 250


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


@dataclass(frozen=True)
class Deployment:
    """Where the contract set lives on one chain: ``addresses`` by contract name, ``block`` of the first
    deployment transaction (where event scans start)."""

    chain_id: int
    addresses: dict[str, str]
    block: int

    def save(self, home: Path) -> Path:
        """Write ``<home>/deployments/<chain_id>.json`` atomically."""
        return atomic_write_json(home / "deployments" / f"{self.chain_id}.json", asdict(self))

    @classmethod
    def load(cls, home: Path, chain_id: int) -> Deployment:
        """Read the deployments file for ``chain_id``; :class:`DeploymentError` when absent or malformed."""
        path = home / "deployments" / f"{chain_id}.json"
        try:
            raw = json.loads(path.read_text())
            return cls(chain_id=int(raw["chain_id"]), addresses=dict(raw["addresses"]), block=int(raw["block"]))
        except FileNotFoundError as exc:
            raise DeploymentError(
                f"no Datagora deployment recorded for chain {chain_id} in {path.parent}: run `datagora deploy`"
            ) from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise DeploymentError(f"deployments file {path} is malformed: {exc}") from exc


class Contracts:
    """The deployed contract set on one :class:`Chain`, with typed calls for each function."""

    def __init__(self, chain: Chain, deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment
        self._c: dict[str, Contract] = {}
        self._topics: dict[bytes, tuple[str, Any]] = {}
        for name in CONTRACT_NAMES:
            address = deployment.addresses.get(name)
            if not address:
                raise DeploymentError(f"deployment lacks {name}")
            contract = chain.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)
            self._c[name] = contract
            for entry in load_artifact(name).abi:
                if entry.get("type") == "event":
                    topic = bytes(event_abi_to_log_topic(entry))  # type: ignore[arg-type]
                    self._topics[topic] = (name, getattr(contract.events, entry["name"]))
        self._by_address = {c.address.lower(): n for n, c in self._c.items()}
        self._delivery_hashes: dict[int, tuple[bytes, int, str]] = {}

    # -- deployment --------------------------------------------------------------------------------------

    @classmethod
    def deploy(
        cls, chain: Chain, supervisor: LocalAccount, platform: LocalAccount, *, fee_bps: int = DEFAULT_FEE_BPS
    ) -> Contracts:
        """Deploy Registry (by the supervisor), Catalog, Market and Reputation (by the platform, which receives
        fees and holds ATTESTER_ROLE). Returns the bound set; ``.deployment`` can be saved."""
        reg = load_artifact("Registry")
        r1 = chain.deploy(supervisor, reg.abi, reg.bytecode)
        registry = r1["contractAddress"]
        cat = load_artifact("Catalog")
        catalog = chain.deploy(platform, cat.abi, cat.bytecode, registry)["contractAddress"]
        mkt = load_artifact("Market")
        market = chain.deploy(platform, mkt.abi, mkt.bytecode, registry, catalog, fee_bps)["contractAddress"]
        rep = load_artifact("Reputation")
        reputation = chain.deploy(platform, rep.abi, rep.bytecode, market, registry)["contractAddress"]
        deployment = Deployment(
            chain_id=chain.chain_id,
            addresses={
                "Registry": str(registry),
                "Catalog": str(catalog),
                "Market": str(market),
                "Reputation": str(reputation),
            },
            block=int(r1["blockNumber"]),
        )
        contracts = cls(chain, deployment)
        contracts.grant_attester(platform, platform.address)
        return contracts

    @classmethod
    def attach(cls, chain: Chain, home: Path) -> Contracts:
        """Bind to the deployment recorded in ``home`` for this chain, checking that each address holds the
        expected code (a restarted development node loses it). Raises :class:`DeploymentError`."""
        deployment = Deployment.load(home, chain.chain_id)
        for name, address in deployment.addresses.items():
            code = chain.code(address)
            if not code or not code.startswith(load_artifact(name).runtime[:64]):
                raise DeploymentError(
                    f"{name} is not at {address} on chain {chain.chain_id} (node reset?): run `datagora deploy`"
                )
        return cls(chain, deployment)

    def contract(self, name: str) -> Contract:
        return self._c[name]

    @property
    def addresses(self) -> dict[str, str]:
        return dict(self.deployment.addresses)

    # -- events ------------------------------------------------------------------------------------------

    def _decode(self, logs: Iterable[Any]) -> Iterator[ChainEvent]:
        for log in logs:
            if log["address"].lower() not in self._by_address or not log["topics"]:
                continue
            hit = self._topics.get(bytes(log["topics"][0]))
            if hit is None:
                continue
            name, event = hit
            decoded = event().process_log(log)
            yield ChainEvent(
                contract=name,
                name=decoded["event"],
                args={k: v for k, v in decoded["args"].items()},
                block_number=int(log["blockNumber"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                log_index=int(log["logIndex"]),
                block_hash="0x" + bytes(log["blockHash"]).hex(),
            )

    def _result(self, receipt: TxReceipt) -> TxResult:
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            gas_used=int(receipt["gasUsed"]),
            block_number=int(receipt["blockNumber"]),
            events=list(self._decode(receipt["logs"])),
        )

    def events(self, from_block: int | None = None, to_block: int | None = None) -> list[ChainEvent]:
        """Every Datagora event from ``from_block`` (default: the deployment block), in chain order, with each
        block's timestamp."""
        start = self.deployment.block if from_block is None else from_block
        logs = self.chain._rpc(
            lambda: self.chain.w3.eth.get_logs(
                {
                    "address": list(self._c[n].address for n in CONTRACT_NAMES),
                    "fromBlock": start,
                    "toBlock": "latest" if to_block is None else to_block,
                }
            )
        )
        stamps: dict[int, int] = {}
        out = []
        for ev in self._decode(logs):
            if ev.block_number not in stamps:
                stamps[ev.block_number] = self.chain.block_timestamp(ev.block_number)
            out.append(replace(ev, timestamp=stamps[ev.block_number]))
        return out

    def events_of_tx(self, tx_hash: str) -> list[ChainEvent] | None:
        """The Datagora events of a mined transaction, or None when the chain does not know it."""
        from web3.exceptions import TransactionNotFound

        try:
            receipt = self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        except Exception as exc:
            raise self.chain._wrap(exc) from exc
        return list(self._decode(receipt["logs"]))

    def _bind(self, contract: str, fn: str, *args: Any) -> Any:
        try:
            return getattr(self._c[contract].functions, fn)(*args)
        except (Web3ValidationError, MismatchedABI, TypeError, ValueError) as exc:
            shown = ", ".join(str(a)[:40] for a in args)
            raise ValidationError(f"invalid arguments for {contract}.{fn}({shown})") from exc

    def _send(self, sender: LocalAccount, contract: str, fn: str, *args: Any, value: int = 0) -> TxResult:
        return self._result(self.chain.transact(sender, self._bind(contract, fn, *args), value=value))

    def _view(self, contract: str, fn: str, *args: Any) -> Any:
        return self.chain.call(self._bind(contract, fn, *args))

    # -- Registry ----------------------------------------------------------------------------------------

    def register_organisation(self, sender: LocalAccount, name: str, public_key: bytes) -> tuple[int, TxResult]:
        """EntDSM Algorithm 1. Returns the organisation id; joining an existing organisation leaves the sender
        pending until a member approves it (:meth:`approve_member`)."""
        res = self._send(sender, "Registry", "register_organisation", name, public_key)
        joined = [e for e in res.events if e.name in ("MemberJoined", "MembershipRequested")]
        return int(joined[0].args["organisation_id"]), res

    def approve_member(self, approver: LocalAccount, account: str) -> TxResult:
        """A member of the organisation (or the supervisor) accepts ``account``'s membership request."""
        return self._send(approver, "Registry", "approve_member", Web3.to_checksum_address(account))

    def withdraw_request(self, sender: LocalAccount) -> TxResult:
        """The sender withdraws its pending membership request and is unregistered again."""
        return self._send(sender, "Registry", "withdraw_request")

    def reject_member(self, rejecter: LocalAccount, account: str) -> TxResult:
        """A member of the organisation (or the supervisor) refuses ``account``'s membership request."""
        return self._send(rejecter, "Registry", "reject_member", Web3.to_checksum_address(account))

    def register_customer(self, sender: LocalAccount, public_key: bytes) -> TxResult:
        return self._send(sender, "Registry", "register_customer", public_key)

    def set_status(self, supervisor: LocalAccount, organisation_id: int, status: OrgStatus) -> TxResult:
        """EntDSM Algorithm 2 (supervisor only)."""
        return self._send(supervisor, "Registry", "set_status", organisation_id, int(status))

    def supervisor(self) -> str:
        return str(self._view("Registry", "owner"))

    def organisation(self, organisation_id: int) -> Organisation:
        name, status, members = self._view("Registry", "organisations", organisation_id)
        if status == OrgStatus.NONE:
            raise NotFoundError(f"unknown organisation id {organisation_id}")
        return Organisation(organisation_id, name, OrgStatus(status), int(members))

    def organisation_id(self, name: str) -> int:
        """Id of the organisation called ``name``; :class:`NotFoundError` when none is."""
        org_id = int(self._view("Registry", "organisation_id_of_name", name))
        if org_id == 0:
            raise NotFoundError(f"unknown organisation {name!r}")
        return org_id

    def organisation_of(self, account: str) -> int:
        return int(self._view("Registry", "organisation_of", Web3.to_checksum_address(account)))

    def account_kind(self, account: str) -> AccountKind:
        return AccountKind(self._view("Registry", "account_kind", Web3.to_checksum_address(account)))

    def status_of(self, account: str) -> OrgStatus:
        return OrgStatus(self._view("Registry", "status_of", Web3.to_checksum_address(account)))

    def is_audited(self, account: str) -> bool:
        return bool(self._view("Registry", "is_audited", Web3.to_checksum_address(account)))

    def public_key(self, account: str) -> bytes:
        """The 64-byte secp256k1 public key ``account`` published; :class:`NotFoundError` when none."""
        key = bytes(self._view("Registry", "public_key", Web3.to_checksum_address(account)))
        if len(key) != 64:
            raise NotFoundError(f"{account} has published no encryption key in the Registry")
        return key

    # -- Catalog -----------------------------------------------------------------------------------------

    def attestation_digest(
        self,
        publisher: str,
        content_hash: bytes,
        description_hash: bytes,
        fingerprint_commitment: bytes,
        dcat_hash: bytes,
        expiry: int,
    ) -> bytes:
        """The EIP-712 digest of ``NoveltyAttestation`` the Catalog checks (32 bytes)."""
        args = (publisher, content_hash, description_hash, fingerprint_commitment, dcat_hash, expiry)
        return bytes(self._view("Catalog", "attestation_digest", *args))

    def grant_attester(self, admin: LocalAccount, account: str) -> TxResult:
        role = self._view("Catalog", "ATTESTER_ROLE")
        return self._send(admin, "Catalog", "grantRole", role, Web3.to_checksum_address(account))

    def is_attester(self, account: str) -> bool:
        role = self._view("Catalog", "ATTESTER_ROLE")
        return bool(self._view("Catalog", "hasRole", role, Web3.to_checksum_address(account)))

    def publish(
        self,
        sender: LocalAccount,
        description: DatasetDescription,
        dcat_hash: bytes,
        fingerprint_commitment: bytes,
        expiry: int,
        attestation: bytes,
    ) -> tuple[int, TxResult]:
        """EntDSM Algorithm 3 with the platform's novelty attestation. Returns the new token id."""
        res = self._send(
            sender,
            "Catalog",
            "publish",
            description.domain,
            description.name,
            description.attributes,
            description.size,
            description.content_hash,
            dcat_hash,
            fingerprint_commitment,
            expiry,
            attestation,
        )
        return int(res.event("DatasetPublished").args["token_id"]), res

    def dataset(self, token_id: int) -> Dataset:
        """The Catalog record of ``token_id``; :class:`NotFoundError` when no such dataset exists."""
        content, description, dcat, fingerprint = self._view("Catalog", "datasets", token_id)
        if bytes(content) == bytes(32):
            raise NotFoundError(f"unknown dataset id {token_id}")
        owner = str(self._view("Catalog", "ownerOf", token_id))
        return Dataset(token_id, owner, bytes(content), bytes(description), bytes(dcat), bytes(fingerprint))

    def dataset_count(self) -> int:
        return int(self._view("Catalog", "dataset_count"))

    def token_of_content(self, content_hash: bytes) -> int:
        return int(self._view("Catalog", "token_of_content", content_hash))

    def owner_of(self, token_id: int) -> str:
        return str(self._view("Catalog", "ownerOf", token_id))

    def set_approval_for_all(self, sender: LocalAccount, operator: str, approved: bool = True) -> TxResult:
        return self._send(sender, "Catalog", "setApprovalForAll", Web3.to_checksum_address(operator), approved)

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        return bool(
            self._view(
                "Catalog", "isApprovedForAll", Web3.to_checksum_address(owner), Web3.to_checksum_address(operator)
            )
        )

    # -- Market ------------------------------------------------------------------------------------------
    # Amounts are in the listing's payment token's smallest unit (wei for ether); ``value`` is the ether
    # sent with the call (management fee, and price/collateral when paying in ether).

    def list(
        self,
        sender: LocalAccount,
        token_id: int,
        price: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
        value: int | None = None,
    ) -> tuple[int, TxResult]:
        """List ownership of ``token_id`` at a fixed ``price``; windows in seconds. ``value`` defaults to the
        management fee plus the collateral when paid in ether. Returns the listing id."""
        token = Web3.to_checksum_address(payment_token)
        value = self._listing_value(collateral, token) if value is None else value
        res = self._send(
            sender, "Market", "list", token_id, price, collateral, token, delivery_window, confirm_window, value=value
        )
        return int(res.event("Listed").args["listing_id"]), res

    def list_negotiable(
        self,
        sender: LocalAccount,
        token_id: int,
        ask: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """List ownership of ``token_id`` for negotiation (asking price ``ask``). Returns the listing id."""
        token = Web3.to_checksum_address(payment_token)
        res = self._send(
            sender,
            "Market",
            "list_negotiable",
            token_id,
            ask,
            collateral,
            token,
            delivery_window,
            confirm_window,
            value=self._listing_value(collateral, token),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def list_auction(
        self,
        sender: LocalAccount,
        token_id: int,
        reserve: int,
        min_increment: int,
        duration: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """Open an English auction on the ownership of ``token_id`` for ``duration`` seconds. Returns the
        listing id."""
        token = Web3.to_checksum_address(payment_token)
        res = self._send(
            sender,
            "Market",
            "list_auction",
            token_id,
            reserve,
            min_increment,
            duration,
            collateral,
            token,
            delivery_window,
            confirm_window,
            value=self._listing_value(collateral, token),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def list_use_right(
        self,
        sender: LocalAccount,
        token_id: int,
        price_per_query: int,
        max_queries: int,
        usage_window: int,
        policy_hash: bytes,
        *,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """Sell use-rights on ``token_id`` per query under the ODRL policy whose keccak256 is ``policy_hash``.
        Returns the listing id."""
        res = self._send(
            sender,
            "Market",
            "list_use_right",
            token_id,
            price_per_query,
            max_queries,
            usage_window,
            Web3.to_checksum_address(payment_token),
            policy_hash,
            value=self.management_fee(),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def _listing_value(self, collateral: int, payment_token: str) -> int:
        return self.management_fee() + (collateral if int(payment_token, 16) == 0 else 0)

    def cancel(self, sender: LocalAccount, listing_id: int) -> TxResult:
        return self._send(sender, "Market", "cancel", listing_id)

    def buy(self, sender: LocalAccount, listing_id: int, value: int) -> tuple[int, TxResult]:
        """Pay a fixed-price listing (``value`` wei: price plus collateral in ether, 0 for an ERC-20, which is
        pulled after ``approve``). Returns the order id."""
        res = self._send(sender, "Market", "buy", listing_id, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def buy_queries(self, sender: LocalAccount, listing_id: int, queries: int, value: int) -> tuple[int, TxResult]:
        """Prepay ``queries`` queries of a use-right listing. Returns the order id."""
        res = self._send(sender, "Market", "buy_queries", listing_id, queries, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def query_digest(self, order_id: int, index: int, query_hash: bytes) -> bytes:
        """The EIP-712 digest of QueryRequest(orderId, index, queryHash) the buyer signs."""
        return bytes(self._view("Market", "query_digest", order_id, index, query_hash))

    def record_query(
        self, sender: LocalAccount, order_id: int, query_hash: bytes, result_hash: bytes, signature: bytes
    ) -> TxResult:
        return self._send(sender, "Market", "record_query", order_id, query_hash, result_hash, signature)

    def expire(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "Market", "expire", order_id)

    def make_offer(
        self, sender: LocalAccount, listing_id: int, amount: int, expiry: int, value: int
    ) -> tuple[int, TxResult]:
        """Offer ``amount`` (escrowed with the collateral) until ``expiry`` (Unix seconds). Returns the
        offer id."""
        res = self._send(sender, "Market", "make_offer", listing_id, amount, expiry, value=value)
        return int(res.event("OfferMade").args["offer_id"]), res

    def counter_offer(self, sender: LocalAccount, offer_id: int, counter: int) -> TxResult:
        return self._send(sender, "Market", "counter_offer", offer_id, counter)

    def accept_offer(self, sender: LocalAccount, offer_id: int) -> tuple[int, TxResult]:
        res = self._send(sender, "Market", "accept_offer", offer_id)
        return int(res.event("OrderPaid").args["order_id"]), res

    def accept_counter(self, sender: LocalAccount, offer_id: int, value: int = 0) -> tuple[int, TxResult]:
        res = self._send(sender, "Market", "accept_counter", offer_id, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def reject_offer(self, sender: LocalAccount, offer_id: int) -> TxResult:
        return self._send(sender, "Market", "reject_offer", offer_id)

    def withdraw_offer(self, sender: LocalAccount, offer_id: int) -> TxResult:
        return self._send(sender, "Market", "withdraw_offer", offer_id)

    def bid(self, sender: LocalAccount, listing_id: int, amount: int, value: int) -> TxResult:
        return self._send(sender, "Market", "bid", listing_id, amount, value=value)

    def settle(self, sender: LocalAccount, listing_id: int) -> tuple[int, TxResult]:
        """Settle an ended auction; returns the winner's order id (0 when there was no bid)."""
        res = self._send(sender, "Market", "settle", listing_id)
        return int(res.event("AuctionSettled").args["order_id"]), res

    def deliver(self, sender: LocalAccount, order_id: int, delivery_hash: bytes) -> TxResult:
        return self._send(sender, "Market", "deliver", order_id, delivery_hash)

    def confirm(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "Market", "confirm", order_id)

    def dispute(self, sender: LocalAccount, order_id: int, reason_hash: bytes) -> TxResult:
        return self._send(sender, "Market", "dispute", order_id, reason_hash)

    def resolve(self, sender: LocalAccount, order_id: int, ruling: Ruling, evidence_hash: bytes) -> TxResult:
        """Platform only: settle a disputed order with ``ruling`` (Wu et al. section IV.A.3)."""
        return self._send(sender, "Market", "resolve", order_id, int(ruling), evidence_hash)

    def release(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "Market", "release", order_id)

    def refund(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "Market", "refund", order_id)

    def withdraw(self, sender: LocalAccount, payment_token: str = ETHER) -> TxResult:
        return self._send(sender, "Market", "withdraw", Web3.to_checksum_address(payment_token))

    def set_parameters(
        self, sender: LocalAccount, *, fee_bps: int, management_fee: int, dispute_window: int
    ) -> TxResult:
        """Platform only: brokerage fee (bps), management fee (wei per listing), dispute window (seconds)."""
        return self._send(sender, "Market", "set_parameters", fee_bps, management_fee, dispute_window)

    def set_fee(self, sender: LocalAccount, fee_bps: int) -> TxResult:
        """Change only the brokerage fee (keeps the management fee and the dispute window)."""
        return self.set_parameters(
            sender, fee_bps=fee_bps, management_fee=self.management_fee(), dispute_window=self.dispute_window()
        )

    def fee_bps(self) -> int:
        return int(self._view("Market", "fee_bps"))

    def platform(self) -> str:
        """The platform's account: owner of ``Market``, receiver of fees, arbiter of disputes."""
        return str(self._view("Market", "owner"))

    def management_fee(self) -> int:
        return int(self._view("Market", "management_fee"))

    def dispute_window(self) -> int:
        return int(self._view("Market", "dispute_window"))

    def listing(self, listing_id: int) -> Listing:
        """The listing ``listing_id``; :class:`NotFoundError` when none exists."""
        (seller, token_id, kind, pricing, state, price, collateral, token, dw, cw, max_queries) = self._view(
            "Market", "listing", listing_id
        )
        if state == 0:
            raise NotFoundError(f"unknown listing id {listing_id}")
        return Listing(
            listing_id,
            str(seller),
            int(token_id),
            int(price),
            int(dw),
            int(cw),
            ListingState(state),
            kind=SaleKind(kind),
            pricing=Pricing(pricing),
            collateral=int(collateral),
            payment_token=str(token),
            max_queries=int(max_queries),
        )

    def listing_count(self) -> int:
        return int(self._view("Market", "listing_count"))

    def order_count(self) -> int:
        return int(self._view("Market", "order_count"))

    def offer_count(self) -> int:
        return int(self._view("Market", "offer_count"))

    def order(self, order_id: int) -> Order:
        """The order ``order_id``, with its delivery hash from its ``Delivered`` event once delivered;
        :class:`NotFoundError` when none exists."""
        listing_id, buyer, amount, state, fee_bps, deadline, left, total = self._view("Market", "order", order_id)
        if state == 0:
            raise NotFoundError(f"unknown order id {order_id}")
        state = OrderState(state)
        delivery_hash = bytes(32)
        if total == 0 and state not in (OrderState.PAID,):
            delivery_hash = self.delivery_hash(order_id)
        return Order(
            order_id,
            int(listing_id),
            str(buyer),
            int(amount),
            int(deadline),
            state,
            delivery_hash,
            fee_bps=int(fee_bps),
            queries_left=int(left),
            queries_total=int(total),
        )

    def delivery_hash(self, order_id: int) -> bytes:
        """The SHA-256 the seller committed in ``Delivered`` for ``order_id`` (zero bytes when not delivered).
        The hash lives in the event log only (cheaper than storage, equally tamper-proof). A found hash is cached
        with the block that holds its log and reused only while that block is still on the chain (one block-hash
        lookup instead of a log scan; a reorganisation or a reverted snapshot invalidates it)."""
        cached = self._delivery_hashes.get(order_id)
        if cached is not None:
            found, block_number, block_hash = cached
            if self.chain.block_hash(block_number) == block_hash:
                return found
            del self._delivery_hashes[order_id]
        for ev in self.market_events("Delivered", order_id):
            found = bytes(ev.args["delivery_hash"])
            self._delivery_hashes[order_id] = (found, ev.block_number, ev.block_hash)
            return found
        return bytes(32)

    def market_events(self, name: str, *indexed: int) -> tuple[ChainEvent, ...]:
        """``Market`` events called ``name`` whose first indexed arguments equal ``indexed`` (uint256 values),
        found with one filtered ``eth_getLogs`` from the deployment block (no timestamps)."""
        event = getattr(self._c["Market"].events, name)
        topic = bytes(event_abi_to_log_topic(event.abi))
        topics = ["0x" + topic.hex(), *("0x" + int(v).to_bytes(32, "big").hex() for v in indexed)]
        logs = self.chain._rpc(
            lambda: self.chain.w3.eth.get_logs(
                {
                    "address": self._c["Market"].address,
                    "fromBlock": self.deployment.block,
                    "toBlock": "latest",
                    "topics": topics,
                }
            )
        )
        return tuple(self._decode(logs))

    def offer(self, offer_id: int) -> Offer:
        """The offer ``offer_id``; :class:`NotFoundError` when none exists."""
        listing_id, buyer, amount, counter, expiry, state = self._view("Market", "offers", offer_id)
        if state == 0:
            raise NotFoundError(f"unknown offer id {offer_id}")
        return Offer(offer_id, int(listing_id), str(buyer), int(amount), int(counter), int(expiry), OfferState(state))

    def auction(self, listing_id: int) -> Auction:
        """The auction state of listing ``listing_id`` (end time 0 when it is not an auction)."""
        end_time, min_increment, bidder, bid = self._view("Market", "auctions", listing_id)
        return Auction(listing_id, int(end_time), int(min_increment), str(bidder), int(bid))

    def pending_withdrawal(self, account: str, payment_token: str = ETHER) -> int:
        """Amount of ``payment_token`` owed to ``account`` and claimable with :meth:`withdraw`."""
        return int(
            self._view(
                "Market",
                "pending_withdrawals",
                Web3.to_checksum_address(account),
                Web3.to_checksum_address(payment_token),
            )
        )

    def escrowed(self, payment_token: str = ETHER) -> int:
        return int(self._view("Market", "escrowed", Web3.to_checksum_address(payment_token)))

    # -- ERC-20 payment tokens ---------------------------------------------------------------------------

    def _erc20(self, token: str) -> Contract:
        return self.chain.w3.eth.contract(address=Web3.to_checksum_address(token), abi=load_artifact("DemoToken").abi)

    def _send_erc20(self, sender: LocalAccount, token: str, fn: str, *args: Any) -> TxResult:
        return self._result(self.chain.transact(sender, getattr(self._erc20(token).functions, fn)(*args)))

    def token_balance(self, token: str, account: str) -> int:
        """ERC-20 balance of ``account`` in the token's smallest unit."""
        return int(self.chain.call(self._erc20(token).functions.balanceOf(Web3.to_checksum_address(account))))

    def token_allowance(self, token: str, owner: str, spender: str) -> int:
        fn = self._erc20(token).functions.allowance(Web3.to_checksum_address(owner), Web3.to_checksum_address(spender))
        return int(self.chain.call(fn))

    def token_symbol(self, token: str) -> str:
        return str(self.chain.call(self._erc20(token).functions.symbol()))

    def approve_token(self, sender: LocalAccount, token: str, spender: str, amount: int) -> TxResult:
        """EIP-20 ``approve``: let ``spender`` (the Market) pull up to ``amount``."""
        return self._send_erc20(sender, token, "approve", Web3.to_checksum_address(spender), amount)

    def mint_token(self, sender: LocalAccount, token: str, to: str, amount: int) -> TxResult:
        """``DemoToken.mint`` (owner or minter only)."""
        return self._send_erc20(sender, token, "mint", Web3.to_checksum_address(to), amount)

    @staticmethod
    def deploy_demo_token(chain: Chain, owner: LocalAccount, name: str = "Datagora Dollar", symbol: str = "DGD") -> str:
        """Deploy a :file:`contracts/DemoToken.vy` ERC-20 (18 decimals, ``owner`` mints). Returns its address."""
        art = load_artifact("DemoToken")
        return str(chain.deploy(owner, art.abi, art.bytecode, name, symbol)["contractAddress"])

    # -- Reputation --------------------------------------------------------------------------------------

    def rate(self, sender: LocalAccount, order_id: int, score: int) -> TxResult:
        """Rate the other party of a completed order (buyer → seller, seller → buyer), once per party and order,
        ``score`` 1..5, parties of different organisations only (Reputation.vy)."""
        return self._send(sender, "Reputation", "rate", order_id, score)

    def reputation(self, account: str) -> tuple[int, int]:
        """``(sum of scores, number of rated orders)`` that ``account`` has received."""
        total, count = self._view("Reputation", "reputation", Web3.to_checksum_address(account))
        return int(total), int(count)

    def average_x100(self, account: str) -> int:
        """``account``'s average score times 100, rounded down; 0 when never rated."""
        return int(self._view("Reputation", "average_x100", Web3.to_checksum_address(account)))


def event_args_jsonable(args: dict[str, Any]) -> dict[str, Any]:
    """Event arguments with bytes as 0x-hex, for printing and export."""
    return {k: _hex(v) for k, v in args.items()}
