"""Ownership sales through escrow (Wu et al. section III.A steps 9-24, section IV.A; Shrestha et al. double
deposit).

list (fixed price, negotiation or English auction; the seller posts collateral and the management fee) → buy /
offer-accept / bid-settle (price and the buyer's collateral held by ``Market``) → deliver (the seller re-encrypts
the data to the buyer's published key and commits the ciphertext's SHA-256) → receive (the buyer checks that
hash, decrypts, checks the plaintext's SHA-256 against ``Catalog``) → confirm → withdraw (pull payments). Refund
after the delivery deadline, mandatory transfer after the confirmation deadline, disputes settled by the platform
(``services.disputes``). Payment in ether or any ERC-20. Use-rights per query: ``services.use_rights``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from datagora.chain.bindings.market import MarketBinding
from datagora.chain.bindings.use_rights import UseRightsBinding, is_use_right_id
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.errors import AccessDenied, NotFoundError, TamperedError, ValidationError
from datagora.domain.models import ETHER, Dataset, Listing, Order, OrderState, Pricing, TxResult
from datagora.services.participant import Participant

DAY = 86_400


@dataclass(frozen=True)
class Delivery:
    """The ciphertext a seller produced for one order: ``blob`` address in the seller's store (= its SHA-256,
    the delivery hash committed on chain) and ``path`` to the file to hand to the buyer."""

    order_id: int
    blob: str
    path: Path
    delivery_hash: bytes
    tx: TxResult


@dataclass(frozen=True)
class Receipt:
    """What the buyer got: the decrypted file at ``path`` whose SHA-256 equals the dataset's content hash."""

    order_id: int
    token_id: int
    path: Path
    content_hash: bytes
    size: int
    ciphertext: Path | None = None


DEFAULT_COLLATERAL_BPS = 10_000
"""Default double deposit (Shrestha et al.): each party posts 100 % of the price (the reserve or the asking price
for auctions and negotiations) as collateral, so a party that cheats loses as much as the trade is worth. A
seller may choose any amount, 0 included (``collateral=``)."""


def _collateral(price: int, collateral: int | None) -> int:
    if collateral is None:
        return price * DEFAULT_COLLATERAL_BPS // 10_000
    if collateral < 0:
        raise ValidationError("collateral must not be negative")
    return collateral


def _check_can_list(contracts: Contracts, seller: Participant, token_id: int, price: int) -> None:
    # Refuse here what Market refuses, so no approval transaction is spent on a doomed listing.
    if price <= 0:
        raise ValidationError("price must be positive")
    contracts.catalog.dataset(token_id)  # NotFoundError for an unknown id
    if not contracts.registry.is_audited(seller.address):
        raise AccessDenied(f"market: seller not audited ({seller.address} is not in an Audited organisation)")
    if contracts.catalog.owner_of(token_id).lower() != seller.address.lower():
        raise AccessDenied(f"market: not token owner (dataset {token_id} is not owned by {seller.address})")


def _prepare_ownership(
    contracts: Contracts, seller: Participant, token_id: int, price: int, collateral: int, payment_token: str
) -> list[TxResult]:
    """Approvals an ownership listing needs: the Market may move the seller's data NFTs (custody while listed)
    and, for an ERC-20 listing, pull the seller's collateral."""
    _check_can_list(contracts, seller, token_id, price)
    txs = []
    market = contracts.addresses["Market"]
    if not contracts.catalog.is_approved_for_all(seller.address, market):
        txs.append(contracts.catalog.set_approval_for_all(seller.account, market, True))
    txs.extend(approve_payment(contracts, seller, payment_token, collateral))
    return txs


def approve_payment(
    contracts: Contracts, payer: Participant, payment_token: str, amount: int, *, spender: str | None = None
) -> list[TxResult]:
    """For an ERC-20 ``payment_token``, make sure the Market (or ``spender``, e.g. UseRights) may pull ``amount``
    from ``payer`` (EIP-20 ``approve`` when the allowance is short; one transaction or none). Nothing for ether."""
    if int(payment_token, 16) == 0 or amount == 0:
        return []
    market = spender or contracts.addresses["Market"]
    if contracts.tokens.allowance(payment_token, payer.address, market) >= amount:
        return []
    balance = contracts.tokens.balance(payment_token, payer.address)
    if balance < amount:
        raise ValidationError(f"{payer.address} holds {balance} of token {payment_token}, needs {amount}")
    return [contracts.tokens.approve(payer.account, payment_token, market, amount)]


def _ether(listing: Listing, amount: int) -> int:
    """``msg.value`` of a payment of ``amount`` on ``listing``: the amount in ether, nothing for an ERC-20."""
    return amount if listing.pays_in_ether else 0


def list_dataset(
    contracts: Contracts,
    seller: Participant,
    token_id: int,
    price_wei: int,
    *,
    delivery_window: int = DAY,
    confirm_window: int = DAY,
    collateral: int | None = None,
    payment_token: str = ETHER,
) -> tuple[int, list[TxResult]]:
    """Offer the ownership of ``token_id`` at a fixed price (wei, or the ERC-20's smallest unit). The seller
    posts ``collateral`` (default: :data:`DEFAULT_COLLATERAL_BPS` of the price) and pays the platform's
    management fee. Approves the market for the seller's data NFTs (and the ERC-20) first when needed. Returns
    the listing id and the transactions sent. Raises ``ValidationError``, ``AccessDenied``, ``NotFoundError``,
    ``TransactionReverted``."""
    collateral = _collateral(price_wei, collateral)
    txs = _prepare_ownership(contracts, seller, token_id, price_wei, collateral, payment_token)
    listing_id, tx = contracts.market.list(
        seller.account,
        token_id,
        price_wei,
        delivery_window,
        confirm_window,
        collateral=collateral,
        payment_token=payment_token,
    )
    return listing_id, [*txs, tx]


def list_negotiable(
    contracts: Contracts,
    seller: Participant,
    token_id: int,
    ask: int,
    *,
    delivery_window: int = DAY,
    confirm_window: int = DAY,
    collateral: int | None = None,
    payment_token: str = ETHER,
) -> tuple[int, list[TxResult]]:
    """Offer the ownership of ``token_id`` for negotiation at asking price ``ask`` (Wu et al. section III.A,
    negotiated pricing). Buyers then :func:`make_offer`. Returns the listing id and the transactions."""
    collateral = _collateral(ask, collateral)
    txs = _prepare_ownership(contracts, seller, token_id, ask, collateral, payment_token)
    listing_id, tx = contracts.market.list_negotiable(
        seller.account,
        token_id,
        ask,
        delivery_window,
        confirm_window,
        collateral=collateral,
        payment_token=payment_token,
    )
    return listing_id, [*txs, tx]


def list_auction(
    contracts: Contracts,
    seller: Participant,
    token_id: int,
    reserve: int,
    *,
    min_increment: int,
    duration: int,
    delivery_window: int = DAY,
    confirm_window: int = DAY,
    collateral: int | None = None,
    payment_token: str = ETHER,
) -> tuple[int, list[TxResult]]:
    """Open an English auction on the ownership of ``token_id``: bids from ``reserve`` up, each at least
    ``min_increment`` above the last, for ``duration`` seconds; then :func:`settle_auction`. Returns the listing
    id and the transactions."""
    collateral = _collateral(reserve, collateral)
    txs = _prepare_ownership(contracts, seller, token_id, reserve, collateral, payment_token)
    listing_id, tx = contracts.market.list_auction(
        seller.account,
        token_id,
        reserve,
        min_increment,
        duration,
        delivery_window,
        confirm_window,
        collateral=collateral,
        payment_token=payment_token,
    )
    return listing_id, [*txs, tx]


@dataclass(frozen=True)
class OwnershipTerms:
    """How a dataset's ownership is offered (Wu et al. section III.A, pricing module): ``pricing`` fixed,
    negotiated or auction; ``price`` (in the payment token's smallest unit: wei for ether) is the fixed price, the
    asking price or the auction's reserve. ``collateral`` is what each party deposits (None: 100 % of the price),
    ``payment_token`` :data:`~datagora.domain.models.ETHER` or an ERC-20 address; windows in seconds. An auction
    needs ``min_increment`` (smallest raise over the highest bid) and ``duration`` (seconds it runs); other
    pricings take neither. Construction raises ``ValidationError`` for terms the Market would refuse."""

    pricing: Pricing
    price: int
    delivery_window: int = DAY
    confirm_window: int = DAY
    collateral: int | None = None
    payment_token: str = ETHER
    min_increment: int | None = None
    duration: int | None = None

    def __post_init__(self) -> None:
        if self.price <= 0:
            raise ValidationError("price must be positive")
        if self.collateral is not None and self.collateral < 0:
            raise ValidationError("collateral must not be negative")
        if self.delivery_window <= 0 or self.confirm_window <= 0:
            raise ValidationError("delivery and confirmation windows must be positive (seconds)")
        if self.pricing == Pricing.AUCTION:
            if self.min_increment is None or self.min_increment <= 0:
                raise ValidationError("an auction needs a positive minimum increment")
            if self.duration is None or self.duration <= 0:
                raise ValidationError("an auction needs a positive duration (seconds)")
        elif self.min_increment is not None or self.duration is not None:
            raise ValidationError("a minimum increment and a duration are for auctions only")


def list_ownership(
    contracts: Contracts, seller: Participant, token_id: int, terms: OwnershipTerms
) -> tuple[int, list[TxResult]]:
    """List the ownership of ``token_id`` on ``terms``: at a fixed price (:func:`list_dataset`), for
    negotiation (:func:`list_negotiable`) or by English auction (:func:`list_auction`). The one entry point of
    the CLI and the API. Returns the listing id and the transactions sent (approvals first). Raises
    ``ValidationError``, ``AccessDenied``, ``NotFoundError``, ``TransactionReverted``."""
    windows = {"delivery_window": terms.delivery_window, "confirm_window": terms.confirm_window}
    if terms.pricing == Pricing.AUCTION:
        assert terms.min_increment is not None and terms.duration is not None  # checked by OwnershipTerms
        return list_auction(
            contracts,
            seller,
            token_id,
            terms.price,
            min_increment=terms.min_increment,
            duration=terms.duration,
            collateral=terms.collateral,
            payment_token=terms.payment_token,
            **windows,
        )
    listing = list_negotiable if terms.pricing == Pricing.NEGOTIATED else list_dataset
    return listing(
        contracts,
        seller,
        token_id,
        terms.price,
        collateral=terms.collateral,
        payment_token=terms.payment_token,
        **windows,
    )


def buy(
    contracts: Contracts, buyer: Participant, listing_id: int, value_wei: int | None = None
) -> tuple[int, TxResult]:
    """Pay a fixed-price ownership listing into escrow: its price plus the buyer's collateral (double deposit).
    ``value_wei`` overrides the ether sent (the contract refuses a wrong amount: ``market: wrong value``, and
    nothing is paid). For an ERC-20 listing the token is approved first. Returns the order id."""
    listing = contracts.market.listing(listing_id)
    total = listing.price + listing.collateral
    if value_wei is None:
        approve_payment(contracts, buyer, listing.payment_token, total)
        value_wei = _ether(listing, total)
    return contracts.market.buy(buyer.account, listing_id, value_wei)


# -- negotiation (Wu et al. section III.A, pricing module) ---------------------------------------------------


def make_offer(
    contracts: Contracts, buyer: Participant, listing_id: int, amount: int, *, valid_for: int = DAY
) -> tuple[int, TxResult]:
    """Offer ``amount`` for a negotiable listing, valid ``valid_for`` seconds; the amount and the buyer's
    collateral are escrowed until the offer is accepted, rejected or withdrawn. Returns the offer id."""
    listing = contracts.market.listing(listing_id)
    if amount <= 0:
        raise ValidationError("offer amount must be positive")
    approve_payment(contracts, buyer, listing.payment_token, amount + listing.collateral)
    expiry = contracts.chain.now() + valid_for
    return contracts.market.make_offer(
        buyer.account, listing_id, amount, expiry, _ether(listing, amount + listing.collateral)
    )


def counter_offer(contracts: Contracts, seller: Participant, offer_id: int, counter: int) -> TxResult:
    """The seller proposes ``counter`` instead of the offered amount."""
    return contracts.market.counter_offer(seller.account, offer_id, counter)


def accept_offer(contracts: Contracts, seller: Participant, offer_id: int) -> tuple[int, TxResult]:
    """The seller accepts the buyer's amount; returns the new order id."""
    return contracts.market.accept_offer(seller.account, offer_id)


def accept_counter(contracts: Contracts, buyer: Participant, offer_id: int, counter: int) -> tuple[int, TxResult]:
    """The buyer accepts the seller's counter ``counter`` (wei or token units, the price the buyer read), topping
    up the escrow when it is higher (the difference is owed back when lower). Returns the new order id.

    Raises :class:`ContractError` "market: counter changed" when the seller countered again meanwhile: the
    buyer never pays a price it did not see (nor approves more than ``counter`` less its offer)."""
    offer = contracts.market.offer(offer_id)
    listing = contracts.market.listing(offer.listing_id)
    top_up = max(counter - offer.amount, 0)
    approve_payment(contracts, buyer, listing.payment_token, top_up)
    return contracts.market.accept_counter(buyer.account, offer_id, counter, _ether(listing, top_up))


def reject_offer(contracts: Contracts, seller: Participant, offer_id: int) -> TxResult:
    return contracts.market.reject_offer(seller.account, offer_id)


def withdraw_offer(contracts: Contracts, caller: Participant, offer_id: int) -> TxResult:
    """The buyer takes its offer back (anyone may after the expiry); the escrow becomes withdrawable."""
    return contracts.market.withdraw_offer(caller.account, offer_id)


# -- English auction ------------------------------------------------------------------------------------------


def bid(contracts: Contracts, bidder: Participant, listing_id: int, amount: int) -> TxResult:
    """Bid ``amount`` (escrowed with the bidder's collateral); an outbid bidder's escrow becomes withdrawable
    (pull payment)."""
    listing = contracts.market.listing(listing_id)
    approve_payment(contracts, bidder, listing.payment_token, amount + listing.collateral)
    return contracts.market.bid(bidder.account, listing_id, amount, _ether(listing, amount + listing.collateral))


def settle_auction(contracts: Contracts, caller: Participant, listing_id: int) -> tuple[int, TxResult]:
    """After the end time: the highest bid becomes an order (its id; 0 without bids, the NFT returns)."""
    return contracts.market.settle(caller.account, listing_id)


def order_context(contracts: Contracts, order_id: int) -> tuple[Order, Listing, Dataset]:
    """The order with its listing and dataset. Raises ``NotFoundError``."""
    order = contracts.market.order(order_id)
    listing = contracts.market.listing(order.listing_id)
    return order, listing, contracts.catalog.dataset(listing.token_id)


def deliver(contracts: Contracts, seller: Participant, order_id: int, out_dir: Path | None = None) -> Delivery:
    """Re-encrypt the dataset to the buyer's Registry key (fresh data key), store the ciphertext, commit its
    SHA-256 on chain. Raises ``AccessDenied`` when the caller is not the seller, ``NotFoundError`` when the
    seller's store lacks the dataset, ``TransactionReverted`` when the order cannot be delivered."""
    order, listing, dataset = order_context(contracts, order_id)
    if listing.seller.lower() != seller.address.lower():
        raise AccessDenied(f"order {order_id} is not a sale by {seller.address}")
    if order.state != OrderState.PAID:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not paid")
    record = seller.load_record("datasets", dataset.content_hash.hex())
    buyer_key = contracts.registry.public_key(order.buyer)
    work = seller.paths.tmp
    work.mkdir(exist_ok=True)
    cipher = work / f"order-{order_id}.dge"
    from datagora.crypto.reencrypt import reencrypt_stream  # ECIES and AES-GCM: loaded by the commands that deliver

    try:  # the owner's copy re-encrypted for the buyer; no plaintext on disk
        with seller.store.open(record["blob"]) as src, cipher.open("wb") as dst:
            reencrypt_stream(src, dst, seller.private_key, {order.buyer: buyer_key})
        blob = seller.store.put_file(cipher)
    finally:
        cipher.unlink(missing_ok=True)
    delivery_hash = bytes.fromhex(blob)
    tx = contracts.market.deliver(seller.account, order_id, delivery_hash)
    out_dir = out_dir or seller.paths.outbox
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"order-{order_id}.dge"
    with path.open("wb") as fh:
        seller.store.copy_to(blob, fh)
    return Delivery(order_id, blob, path, delivery_hash, tx)


def receive(
    contracts: Contracts, buyer: Participant, order_id: int, ciphertext: Path, out: Path, *, keep_copy: bool = True
) -> Receipt:
    """Check the ciphertext against the delivery hash on chain, decrypt it with the buyer's key into ``out``
    (atomically), and check the plaintext against the dataset's content hash. On any failure nothing is left
    at ``out``. With ``keep_copy`` the buyer's node also keeps an encrypted owner's copy in its store (the
    buyer now owns the data and may resell it). Raises ``TamperedError``, ``WrongKeyError``, ``AccessDenied``,
    ``ValidationError``."""
    order, _listing, dataset = order_context(contracts, order_id)
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    if order.state not in (OrderState.DELIVERED, OrderState.DISPUTED, OrderState.COMPLETED):
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    if not ciphertext.is_file():
        raise ValidationError(f"{ciphertext}: no such file")
    if sha256_file(ciphertext) != order.delivery_hash:
        raise TamperedError(f"{ciphertext.name} does not match the delivery hash the seller committed on chain")
    from datagora.crypto.envelope import decrypt_file  # ECIES and AES-GCM: loaded by the commands that receive

    decrypt_file(ciphertext, out, buyer.private_key)
    if sha256_file(out) != dataset.content_hash:
        out.unlink(missing_ok=True)
        raise TamperedError("decrypted data does not match the content hash recorded in Catalog")
    if keep_copy and not order.is_use_right:
        _keep_owner_copy(buyer, out, dataset.content_hash)
    return Receipt(order_id, dataset.token_id, out, dataset.content_hash, out.stat().st_size)


class DeliverySource(Protocol):
    """Where a buyer downloads a delivered ciphertext from: the seller's node or the platform's relay
    (``datagora.api.client.NodeClient`` signed in as the buyer is one). Both check the file against
    ``expected_sha256`` and resume a partial download; ``progress(done, total)`` gets bytes."""

    def download_delivery(
        self,
        order_id: int,
        dest: Path,
        *,
        expected_sha256: bytes | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path: ...

    def download_relayed(
        self,
        order_id: int,
        dest: Path,
        *,
        expected_sha256: bytes | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path: ...


def fetch_and_receive(
    contracts: Contracts,
    buyer: Participant,
    order_id: int,
    source: DeliverySource,
    out: Path,
    *,
    from_relay: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Receipt:
    """The buyer's receive flow (Wu et al. steps 12 and 18-20): check that ``buyer`` paid ``order_id`` and that
    it was delivered, download the ciphertext from ``source`` (the seller's node, or the platform's relay with
    ``from_relay``) into ``<buyer home>/inbox/order-<id>.dge`` (resuming a partial download, checked against the
    delivery hash on chain), then :func:`receive` it into ``out``. The receipt names the ciphertext. Raises
    ``AccessDenied``, ``ValidationError``, ``NotFoundError``, ``TamperedError``, ``WrongKeyError`` and the
    source's errors (``RemoteError`` over HTTP: run again to resume)."""
    order = contracts.market.order(order_id)
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    if order.state not in (OrderState.DELIVERED, OrderState.DISPUTED, OrderState.COMPLETED):
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    cipher = buyer.paths.inbox / f"order-{order_id}.dge"
    get = source.download_relayed if from_relay else source.download_delivery
    get(order_id, cipher, expected_sha256=order.delivery_hash, progress=progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    receipt = receive(contracts, buyer, order_id, cipher, out)
    return replace(receipt, ciphertext=cipher)


def _keep_owner_copy(buyer: Participant, plain: Path, content_hash: bytes) -> None:
    """Store the bought data encrypted to the buyer's own key with its record, as publishing does, so the new
    owner can deliver it, sell use-rights on it or resell it (Wu et al. scenario 2: the reseller)."""
    try:
        buyer.load_record("datasets", content_hash.hex())
        return  # already held
    except (FileNotFoundError, NotFoundError):
        pass
    from datagora.services.publishing import prepare  # late import: fingerprinting libraries load on first use

    prepare(buyer, plain)


def confirm(contracts: Contracts, buyer: Participant, order_id: int) -> TxResult:
    return contracts.market.confirm(buyer.account, order_id)


def refund(contracts: Contracts, caller: Participant, order_id: int) -> TxResult:
    return contracts.market.refund(caller.account, order_id)


def release(contracts: Contracts, caller: Participant, order_id: int) -> TxResult:
    return contracts.market.release(caller.account, order_id)


def sale_contracts(contracts: Contracts) -> list[MarketBinding | UseRightsBinding]:
    """The contracts that hold escrow and owe pull payments: the Market and, when deployed, UseRights."""
    found: list[MarketBinding | UseRightsBinding] = [contracts.market]
    if "UseRights" in contracts.addresses:
        found.append(contracts.use_rights)
    return found


def owed_to(contracts: Contracts, address: str, payment_token: str = ETHER) -> int:
    """What the sale contracts together owe ``address`` in ``payment_token`` (wei or the token's smallest unit),
    claimable with :func:`withdraw`."""
    return sum(binding.pending_withdrawal(address, payment_token) for binding in sale_contracts(contracts))


def held_in_escrow(contracts: Contracts, payment_token: str = ETHER) -> int:
    """What the sale contracts together hold in escrow in ``payment_token`` (prices, collateral, prepaid queries,
    bids, offers)."""
    return sum(binding.escrowed(payment_token) for binding in sale_contracts(contracts))


def withdraw_all(contracts: Contracts, account: Participant, payment_token: str = ETHER) -> tuple[int, list[TxResult]]:
    """Claim everything the sale contracts owe ``account`` in ``payment_token`` (ether by default): the Market's
    debt (ownership sales) and UseRights' (queries answered, fees, unused credit), one pull-payment transaction
    per contract that owes something. Returns the total (wei or the token's smallest unit) and the transactions.
    ``ValidationError`` when nothing is owed."""
    amounts = [
        (binding, binding.pending_withdrawal(account.address, payment_token)) for binding in sale_contracts(contracts)
    ]
    amounts = [(binding, amount) for binding, amount in amounts if amount > 0]
    if not amounts:
        raise ValidationError(f"nothing to withdraw for {account.address}")
    txs = [binding.withdraw(account.account, payment_token) for binding, _ in amounts]
    return sum(amount for _, amount in amounts), txs


def withdraw(contracts: Contracts, account: Participant, payment_token: str = ETHER) -> tuple[int, TxResult]:
    """:func:`withdraw_all`, returning the total and the last transaction."""
    total, txs = withdraw_all(contracts, account, payment_token)
    return total, txs[-1]


def dispute(contracts: Contracts, caller: Participant, order_id: int, reason: str) -> TxResult:
    """The buyer (or the platform) disputes a delivered order before its confirmation deadline (Wu et al.
    section IV.A.3); ``reason`` is kept off-chain, its keccak256 goes on chain."""
    return contracts.market.dispute(caller.account, order_id, keccak256(reason.encode()))


def expire(contracts: Contracts, caller: Participant, order_id: int) -> TxResult:
    """Close a use-right order after its usage window; the unused credit becomes the buyer's to withdraw (from
    UseRights). ``ValidationError`` for an order of the Market (nothing is sent)."""
    if not is_use_right_id(order_id):
        raise ValidationError(f"order {order_id} is not a use-right order (ownership orders end by confirm or refund)")
    return contracts.use_rights.expire(caller.account, order_id)


def expire_use_right(contracts: Contracts, caller: Participant, order_id: int) -> tuple[int, TxResult]:
    """:func:`expire`, returning the unused credit owed back to the buyer (event ``Settled``, in the listing's
    payment token's smallest unit) with the transaction."""
    tx = expire(contracts, caller, order_id)
    try:
        credit = int(tx.event("Settled").args["buyer_credit"])
    except LookupError:  # no settlement event: nothing was owed back
        credit = 0
    return credit, tx
