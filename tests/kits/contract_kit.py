"""Constants, actors and helpers shared by the Vyper contract tests (fixtures live in conftest.py).

Actors are real secp256k1 keys, derived deterministically from a label so failures reproduce: the Registry
checks ``keccak256(public_key)[12:] == msg.sender`` and the Catalog recovers an EIP-712 signature.

The world ``conftest.deployment`` builds once per module:

* ``supervisor`` deploys the Registry (its ``ownable`` owner).
* ``platform`` deploys the Catalog (DEFAULT_ADMIN_ROLE, grants itself ATTESTER_ROLE), the Market and UseRights
  (owner, fee recipient of each) with ``FEE_BPS``.
* ``alice`` founds organisation "Acme", ``carol`` asks to join and alice approves; ``bob`` founds "Beta";
  both are Audited.
* ``dave`` founds "Gamma", left ToAudit; ``erin`` is a customer; ``mallory`` is not registered.
* Every actor holds ``START_BALANCE`` wei; gas price is 0, so balances move only by value transfers.

Payments in an ERC-20 (``payment_token`` = the token's address, ``ETHER`` otherwise) need the payer to
``approve`` the market first; the helpers below send ``msg.value`` only for ether (plus the management fee,
always in ether, when listing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak

from datagora.domain.models import (
    AccountKind,
    ListingState,
    OfferState,
    OrderState,
    OrgStatus,
    Outcome,
    Pricing,
    Ruling,
    SaleKind,
)
from tests import REPO_ROOT

REPO_ROOT = REPO_ROOT
CONTRACTS_DIR = REPO_ROOT / "contracts"
MOCKS_DIR = CONTRACTS_DIR / "mocks"

# Registry organisation status (EntDSM ComState) and account kind: the contracts' flags, read from their one
# Python mirror (tests/architecture/test_state_codes.py ties it to the Vyper sources). 0 is the empty flag.
STATUS_NONE, STATUS_TO_AUDIT, STATUS_AUDITED, STATUS_SUSPENDED = (int(s) for s in OrgStatus)
KIND_NONE, KIND_MEMBER, KIND_CUSTOMER, KIND_PENDING = (int(k) for k in AccountKind)

# Sale kinds, pricings, listing / order / offer states and settlement outcomes (contracts/modules/states.vy).
KIND_OWNERSHIP, KIND_USE_RIGHT = (int(k) for k in SaleKind)
PRICING_FIXED, PRICING_NEGOTIATED, PRICING_AUCTION = (int(p) for p in Pricing)
LISTING_NONE, LISTING_ACTIVE, LISTING_PENDING, LISTING_SOLD, LISTING_CANCELLED, LISTING_CLOSED = (
    int(s) for s in ListingState
)
ORDER_NONE, ORDER_PAID, ORDER_DELIVERED, ORDER_DISPUTED, ORDER_COMPLETED, ORDER_REFUNDED = (int(s) for s in OrderState)
OFFER_NONE, OFFER_OPEN, OFFER_COUNTERED, OFFER_ACCEPTED, OFFER_REJECTED, OFFER_WITHDRAWN = (int(s) for s in OfferState)
(
    OUTCOME_CONFIRMED,
    OUTCOME_RELEASED,
    OUTCOME_FOR_SELLER,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_FOR_BUYER,
    OUTCOME_DISPUTE_TIMEOUT,
    OUTCOME_USE_RIGHT_EXPIRED,
    OUTCOME_REDELIVERED,
) = (int(o) for o in Outcome)
RULING_FOR_SELLER, RULING_REDELIVERED, RULING_FOR_BUYER = (int(r) for r in Ruling)
ETHER = "0x0000000000000000000000000000000000000000"  # payment_token for ether
DISPUTE_WINDOW = 7 * 86_400  # seconds, the Market's initial dispute window
USE_RIGHTS_ID_OFFSET = 1_000_000_000  # UseRights listing and order ids start above it

FEE_BPS = 250  # 2.5 %
MAX_FEE_BPS = 1_000
MIN_WINDOW = 60  # seconds
MAX_WINDOW = 365 * 86_400  # seconds
START_BALANCE = 10**24  # wei
TOKEN_START_BALANCE = 10**24  # DemoToken units minted to every actor by the ``demo_token`` fixture
MAX_QUERIES = 1_000_000
MAX_MANAGEMENT_FEE = 10**18  # wei
MAX_UINT256 = 2**256 - 1
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = b"\x00" * 32

EIP712_DOMAIN_NAME = "Datagora Catalog"
EIP712_DOMAIN_VERSION = "1"
ATTESTATION_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "NoveltyAttestation": [
        {"name": "publisher", "type": "address"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "descriptionHash", "type": "bytes32"},
        {"name": "fingerprintCommitment", "type": "bytes32"},
        {"name": "dcatHash", "type": "bytes32"},
        {"name": "expiry", "type": "uint256"},
    ],
}


QUERY_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": ATTESTATION_TYPES["EIP712Domain"],
    "QueryRequest": [
        {"name": "orderId", "type": "uint256"},
        {"name": "index", "type": "uint256"},
        {"name": "queryHash", "type": "bytes32"},
    ],
}


def make_account(label: str) -> LocalAccount:
    """A secp256k1 account whose private key is keccak256 of ``label`` (deterministic, reproducible)."""
    return Account.from_key(keccak(text=f"datagora/contract-tests/{label}"))


def public_key_of(account: LocalAccount) -> bytes:
    """The 64-byte uncompressed secp256k1 public key (no 0x04 prefix) the Registry expects."""
    return keys.PrivateKey(account.key).public_key.to_bytes()


def digest(label: str) -> bytes:
    """A deterministic non-zero bytes32 (keccak256 of ``label``) for content / DCAT / fingerprint hashes."""
    return keccak(text=label)


def description_hash(publisher: str, domain: str, name: str, attributes: str, size: int, content_hash: bytes) -> bytes:
    """What ``Catalog.publish`` stores: keccak256(abi.encode(publisher, domain, name, attributes, size, content))."""
    encoded = abi_encode(
        ["address", "string", "string", "string", "uint256", "bytes32"],
        [publisher, domain, name, attributes, size, content_hash],
    )
    return keccak(encoded)


def events(contract: Any, name: str) -> list[Any]:
    """Decoded events called ``name`` emitted by ``contract`` in its last call (child calls included)."""
    return [
        e for e in contract.get_logs() if type(e).__name__ == name and getattr(e, "address", None) == contract.address
    ]


def assert_event(contract: Any, name: str, /, **expected: Any) -> None:
    """Assert ``contract``'s last call emitted exactly one ``name`` event whose arguments are all ``expected``.

    Every argument of the event must be given, so a test cannot silently skip one.
    """
    found = events(contract, name)
    assert len(found) == 1, f"expected one {name} event, got {contract.get_logs()}"
    actual = found[0]._asdict()
    actual.pop("address")
    assert actual == expected


def assert_no_event(contract: Any, name: str) -> None:
    """Assert ``contract``'s last call emitted no ``name`` event."""
    assert events(contract, name) == []


@dataclass
class Deployment:
    """The contracts, their actors, and thin helpers for the common calls. The helpers address ``market``; the
    use-right tests run them against UseRights by swapping it in (``dataclasses.replace(d, market=use_rights)``)."""

    env: Any
    registry: Any
    catalog: Any
    market: Any
    use_rights: Any
    supervisor: LocalAccount
    platform: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    dave: LocalAccount
    erin: LocalAccount
    mallory: LocalAccount
    acme_id: int
    beta_id: int
    gamma_id: int
    _published: int = field(default=0)

    @property
    def chain_id(self) -> int:
        return int(self.env.evm.patch.chain_id)

    @property
    def actors(self) -> list[LocalAccount]:
        return [
            self.supervisor,
            self.platform,
            self.alice,
            self.bob,
            self.carol,
            self.dave,
            self.erin,
            self.mallory,
        ]

    def balance(self, who: Any) -> int:
        """Ether balance in wei of an account, contract or address."""
        address = who.address if hasattr(who, "address") else who
        return int(self.env.get_balance(address))

    def attestation_message(
        self,
        publisher: str,
        content_hash: bytes,
        described: bytes,
        fingerprint_commitment: bytes,
        dcat_hash: bytes,
        expiry: int,
        verifying_contract: str | None = None,
        chain_id: int | None = None,
    ) -> dict[str, Any]:
        """The EIP-712 typed-data message of a NoveltyAttestation (eth-account ``full_message`` form)."""
        return {
            "types": ATTESTATION_TYPES,
            "primaryType": "NoveltyAttestation",
            "domain": {
                "name": EIP712_DOMAIN_NAME,
                "version": EIP712_DOMAIN_VERSION,
                "chainId": self.chain_id if chain_id is None else chain_id,
                "verifyingContract": verifying_contract or self.catalog.address,
            },
            "message": {
                "publisher": publisher,
                "contentHash": content_hash,
                "descriptionHash": described,
                "fingerprintCommitment": fingerprint_commitment,
                "dcatHash": dcat_hash,
                "expiry": expiry,
            },
        }

    def attest(
        self,
        publisher: str,
        content_hash: bytes,
        described: bytes,
        fingerprint_commitment: bytes,
        dcat_hash: bytes,
        expiry: int,
        signer: LocalAccount | None = None,
        **domain_overrides: Any,
    ) -> bytes:
        """A 65-byte EIP-712 attestation signature (by ``signer``, default the platform attester); ``described``
        is the description hash (:func:`description_hash`)."""
        message = self.attestation_message(
            publisher, content_hash, described, fingerprint_commitment, dcat_hash, expiry, **domain_overrides
        )
        signer = signer or self.platform
        return bytes(Account.sign_message(encode_typed_data(full_message=message), signer.key).signature)

    def publish(
        self,
        publisher: LocalAccount,
        label: str | None = None,
        approve_market: bool = True,
    ) -> int:
        """Publish a dataset for ``publisher`` with a fresh platform attestation; returns the token id."""
        self._published += 1
        label = label or f"dataset-{self._published}-{self.catalog.dataset_count()}"
        content_hash, dcat_hash, fingerprint = digest(f"{label}/content"), digest(f"{label}/dcat"), digest(label)
        expiry = self.env.timestamp + 3_600
        described = description_hash(publisher.address, "example.org", label, "a,b,c", 100, content_hash)
        signature = self.attest(publisher.address, content_hash, described, fingerprint, dcat_hash, expiry)
        with self.env.prank(publisher.address):
            token_id = int(
                self.catalog.publish(
                    "example.org", label, "a,b,c", 100, content_hash, dcat_hash, fingerprint, expiry, signature
                )
            )
            if approve_market and not self.catalog.isApprovedForAll(publisher.address, self.market.address):
                self.catalog.setApprovalForAll(self.market.address, True)
        return token_id

    def list_token(
        self,
        seller: LocalAccount,
        token_id: int,
        price: int = 10**18,
        delivery_window: int = 3_600,
        confirm_window: int = 7_200,
        collateral: int = 0,
        payment_token: str = ETHER,
    ) -> int:
        """List ``token_id`` at a fixed price (seller must have approved the market); returns the listing id.
        Pays the current management fee and, in ether, the collateral."""
        value = int(self.market.management_fee()) + (collateral if payment_token == ETHER else 0)
        with self.env.prank(seller.address):
            return int(
                self.market.list(
                    token_id, price, collateral, payment_token, delivery_window, confirm_window, value=value
                )
            )

    def publish_and_list(self, seller: LocalAccount, price: int = 10**18, **terms: Any) -> tuple[int, int]:
        """Publish a fresh dataset and list it; returns (token id, listing id)."""
        token_id = self.publish(seller)
        return token_id, self.list_token(seller, token_id, price, **terms)

    def buy(self, buyer: LocalAccount, listing_id: int, value: int | None = None) -> int:
        """Pay for a fixed-price listing (default: its price plus collateral, in ether); returns the order id."""
        if value is None:
            listing = self.market.listing(listing_id)
            value = int(listing.price) + int(listing.collateral) if listing.payment_token == ETHER else 0
        with self.env.prank(buyer.address):
            return int(self.market.buy(listing_id, value=value))

    def seller_of(self, order_id: int) -> str:
        return str(self.market.listing(self.market.order(order_id).listing_id).seller)

    def deliver(self, order_id: int, delivery_hash: bytes | None = None) -> None:
        """The order's seller commits a delivery hash."""
        with self.env.prank(self.seller_of(order_id)):
            self.market.deliver(order_id, delivery_hash or digest(f"ciphertext-{order_id}"))

    def confirm(self, order_id: int) -> None:
        """The order's buyer confirms."""
        with self.env.prank(self.market.order(order_id).buyer):
            self.market.confirm(order_id)

    def sign_query(self, buyer: LocalAccount, order_id: int, index: int, query_hash: bytes) -> bytes:
        """The buyer's 65-byte EIP-712 QueryRequest signature authorising query ``index`` of ``order_id``."""
        message = {
            "types": QUERY_REQUEST_TYPES,
            "primaryType": "QueryRequest",
            "domain": {
                "name": "Datagora UseRights",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": self.market.address,
            },
            "message": {"orderId": order_id, "index": index, "queryHash": query_hash},
        }
        return bytes(Account.sign_message(encode_typed_data(full_message=message), buyer.key).signature)

    def set_status(self, organisation_id: int, status: int) -> None:
        """The supervisor changes an organisation's status."""
        with self.env.prank(self.supervisor.address):
            self.registry.set_status(organisation_id, status)

    def register_organisation(self, account: LocalAccount, name: str) -> int:
        with self.env.prank(account.address):
            return int(self.registry.register_organisation(name, public_key_of(account)))

    def sale(
        self, seller: LocalAccount, buyer: LocalAccount, price: int = 10**18, **terms: Any
    ) -> tuple[int, int, int]:
        """Publish, list and buy; returns (token id, listing id, order id) with the order Paid."""
        token_id, listing_id = self.publish_and_list(seller, price, **terms)
        return token_id, listing_id, self.buy(buyer, listing_id)

    def pending(self, who: Any, payment_token: str = ETHER) -> int:
        """What the market owes ``who`` in ``payment_token`` (pull payment)."""
        address = who.address if hasattr(who, "address") else who
        return int(self.market.pending_withdrawals(address, payment_token))

    # --- ERC-20 payments and the other pricings -------------------------------------------------------------

    @staticmethod
    def value_for(payment_token: str, amount: int) -> int:
        """``msg.value`` that pays ``amount`` in ``payment_token``: the amount in ether, 0 for an ERC-20."""
        return amount if payment_token == ETHER else 0

    def approve(self, token: Any, owner: Any, amount: int = MAX_UINT256) -> None:
        """``owner`` lets the market pull up to ``amount`` of ERC-20 ``token`` (default: unlimited)."""
        address = owner.address if hasattr(owner, "address") else owner
        with self.env.prank(address):
            token.approve(self.market.address, amount)

    def held(self, who: Any, token: Any = None) -> int:
        """Balance of ``who`` in ``token`` (an ERC-20 contract), or in wei when ``token`` is None."""
        address = who.address if hasattr(who, "address") else who
        return self.balance(address) if token is None else int(token.balanceOf(address))

    def assert_solvent(self, *tokens: Any, extra: tuple[Any, ...] = ()) -> None:
        """For ether and every given ERC-20: the market holds exactly ``escrowed`` plus everything it owes
        (summed over the actors and the ``extra`` accounts). The accounting invariant of Market.vy."""
        accounts = {a.address if hasattr(a, "address") else str(a) for a in (*self.actors, *extra)}
        for token in (None, *tokens):
            payment_token = ETHER if token is None else token.address
            owed = sum(self.pending(a, payment_token) for a in accounts)
            held = self.held(self.market, token)
            assert held == int(self.market.escrowed(payment_token)) + owed, (payment_token, held, owed)

    def list_negotiable(
        self,
        seller: LocalAccount,
        token_id: int,
        ask: int = 10**18,
        collateral: int = 0,
        payment_token: str = ETHER,
        delivery_window: int = 3_600,
        confirm_window: int = 7_200,
    ) -> int:
        """Open ``token_id`` for negotiation (management fee and ether collateral paid); returns the listing id."""
        value = int(self.market.management_fee()) + self.value_for(payment_token, collateral)
        with self.env.prank(seller.address):
            return int(
                self.market.list_negotiable(
                    token_id, ask, collateral, payment_token, delivery_window, confirm_window, value=value
                )
            )

    def list_auction(
        self,
        seller: LocalAccount,
        token_id: int,
        reserve: int = 10**18,
        min_increment: int = 10**17,
        duration: int = 86_400,
        collateral: int = 0,
        payment_token: str = ETHER,
        delivery_window: int = 3_600,
        confirm_window: int = 7_200,
    ) -> int:
        """Open an English auction on ``token_id`` (fee and ether collateral paid); returns the listing id."""
        value = int(self.market.management_fee()) + self.value_for(payment_token, collateral)
        with self.env.prank(seller.address):
            return int(
                self.market.list_auction(
                    token_id,
                    reserve,
                    min_increment,
                    duration,
                    collateral,
                    payment_token,
                    delivery_window,
                    confirm_window,
                    value=value,
                )
            )

    def list_use_right(
        self,
        seller: LocalAccount,
        token_id: int,
        price_per_query: int = 10**16,
        max_queries: int = 100,
        usage_window: int = 86_400,
        payment_token: str = ETHER,
        policy_hash: bytes | None = None,
    ) -> int:
        """Sell per-query use-rights on ``token_id`` (management fee paid); returns the listing id."""
        with self.env.prank(seller.address):
            return int(
                self.market.list_use_right(
                    token_id,
                    price_per_query,
                    max_queries,
                    usage_window,
                    payment_token,
                    policy_hash or digest(f"odrl-policy-{token_id}"),
                    value=int(self.market.management_fee()),
                )
            )

    def buy_queries(self, buyer: LocalAccount, listing_id: int, queries: int) -> int:
        """Prepay ``queries`` queries of a use-right listing (in ether when it is priced in ether)."""
        listing = self.market.listing(listing_id)
        value = self.value_for(str(listing.payment_token), int(listing.price) * queries)
        with self.env.prank(buyer.address):
            return int(self.market.buy_queries(listing_id, queries, value=value))

    def make_offer(self, buyer: LocalAccount, listing_id: int, amount: int, expiry: int | None = None) -> int:
        """Offer ``amount`` (plus the listing's collateral) for a negotiable listing; default expiry 1 day."""
        listing = self.market.listing(listing_id)
        value = self.value_for(str(listing.payment_token), amount + int(listing.collateral))
        expiry = self.env.timestamp + 86_400 if expiry is None else expiry
        with self.env.prank(buyer.address):
            return int(self.market.make_offer(listing_id, amount, expiry, value=value))

    def bid(self, bidder: LocalAccount, listing_id: int, amount: int) -> None:
        """Bid ``amount`` (plus the listing's collateral) in an auction."""
        listing = self.market.listing(listing_id)
        value = self.value_for(str(listing.payment_token), amount + int(listing.collateral))
        with self.env.prank(bidder.address):
            self.market.bid(listing_id, amount, value=value)
