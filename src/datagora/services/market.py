"""Fixed-price ownership sale through escrow (Wu et al. section III.A steps 9-24, first cut).

list → buy (payment held by ``Market``) → deliver (seller re-encrypts the data to the buyer's published key
and commits the ciphertext's SHA-256) → receive (buyer checks that hash, decrypts, checks the plaintext's
SHA-256 against ``Catalog``) → confirm → withdraw (pull payment). Refund after the delivery deadline; release
to the seller after the confirmation deadline.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import decrypt_file, decrypt_stream, encrypt_stream
from datagora.crypto.hashing import sha256_file
from datagora.domain.errors import AccessDenied, TamperedError, ValidationError
from datagora.domain.models import Dataset, Listing, Order, OrderState, TxResult
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


def list_dataset(
    contracts: Contracts,
    seller: Participant,
    token_id: int,
    price_wei: int,
    *,
    delivery_window: int = DAY,
    confirm_window: int = DAY,
) -> tuple[int, list[TxResult]]:
    """Offer the ownership of ``token_id`` for ``price_wei``; approves the market for the seller's data NFTs
    first when needed. Returns the listing id and the transactions sent."""
    if price_wei <= 0:
        raise ValidationError("price must be positive")
    contracts.dataset(token_id)  # NotFoundError for an unknown id
    # Refuse here what Market.list would refuse, so no approval transaction is spent on a doomed listing.
    if not contracts.is_audited(seller.address):
        raise AccessDenied(f"market: seller not audited ({seller.address} is not in an Audited organisation)")
    if contracts.owner_of(token_id).lower() != seller.address.lower():
        raise AccessDenied(f"market: not token owner (dataset {token_id} is not owned by {seller.address})")
    txs = []
    market = contracts.addresses["Market"]
    if not contracts.is_approved_for_all(seller.address, market):
        txs.append(contracts.set_approval_for_all(seller.account, market, True))
    listing_id, tx = contracts.list(seller.account, token_id, price_wei, delivery_window, confirm_window)
    txs.append(tx)
    return listing_id, txs


def buy(
    contracts: Contracts, buyer: Participant, listing_id: int, value_wei: int | None = None
) -> tuple[int, TxResult]:
    """Pay into escrow. ``value_wei`` defaults to the listed price; any other amount is refused by the
    contract (``market: wrong price``) and nothing is paid. Returns the order id."""
    listing = contracts.listing(listing_id)
    return contracts.buy(buyer.account, listing_id, listing.price if value_wei is None else value_wei)


def order_context(contracts: Contracts, order_id: int) -> tuple[Order, Listing, Dataset]:
    """The order with its listing and dataset. Raises ``NotFoundError``."""
    order = contracts.order(order_id)
    listing = contracts.listing(order.listing_id)
    return order, listing, contracts.dataset(listing.token_id)


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
    buyer_key = contracts.public_key(order.buyer)
    work = seller.home / "tmp"
    work.mkdir(exist_ok=True)
    cipher = work / f"order-{order_id}.dge"
    plain_r, plain_w = os.pipe()
    # Decrypt the owner's copy and re-encrypt for the buyer without writing plaintext to disk.
    errors: list[BaseException] = []

    def _producer() -> None:
        try:
            with seller.store.open(record["blob"]) as src, os.fdopen(plain_w, "wb") as sink:
                decrypt_stream(src, sink, seller.private_key)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    thread = threading.Thread(target=_producer, daemon=True)
    thread.start()
    try:
        with os.fdopen(plain_r, "rb") as plain, cipher.open("wb") as dst:
            encrypt_stream(plain, dst, {order.buyer: buyer_key})
        thread.join()
        if errors:
            raise errors[0]
        blob = seller.store.put_file(cipher)
    finally:
        thread.join()
        cipher.unlink(missing_ok=True)
    delivery_hash = bytes.fromhex(blob)
    tx = contracts.deliver(seller.account, order_id, delivery_hash)
    out_dir = out_dir or seller.home / "outbox"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"order-{order_id}.dge"
    with path.open("wb") as fh:
        seller.store.copy_to(blob, fh)
    return Delivery(order_id, blob, path, delivery_hash, tx)


def receive(contracts: Contracts, buyer: Participant, order_id: int, ciphertext: Path, out: Path) -> Receipt:
    """Check the ciphertext against the delivery hash on chain, decrypt it with the buyer's key into ``out``
    (atomically), and check the plaintext against the dataset's content hash. On any failure nothing is left
    at ``out``. Raises ``TamperedError``, ``WrongKeyError``, ``AccessDenied``, ``ValidationError``."""
    order, _listing, dataset = order_context(contracts, order_id)
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    if order.state not in (OrderState.DELIVERED, OrderState.COMPLETED):
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    if not ciphertext.is_file():
        raise ValidationError(f"{ciphertext}: no such file")
    if sha256_file(ciphertext) != order.delivery_hash:
        raise TamperedError(f"{ciphertext.name} does not match the delivery hash the seller committed on chain")
    decrypt_file(ciphertext, out, buyer.private_key)
    if sha256_file(out) != dataset.content_hash:
        out.unlink(missing_ok=True)
        raise TamperedError("decrypted data does not match the content hash recorded in Catalog")
    return Receipt(order_id, dataset.token_id, out, dataset.content_hash, out.stat().st_size)


def confirm(contracts: Contracts, buyer: Participant, order_id: int) -> TxResult:
    return contracts.confirm(buyer.account, order_id)


def refund(contracts: Contracts, caller: Participant, order_id: int) -> TxResult:
    return contracts.refund(caller.account, order_id)


def release(contracts: Contracts, caller: Participant, order_id: int) -> TxResult:
    return contracts.release(caller.account, order_id)


def withdraw(contracts: Contracts, account: Participant) -> tuple[int, TxResult]:
    """Claim everything the market owes ``account``. Returns the amount in wei."""
    amount = contracts.pending_withdrawal(account.address)
    if amount == 0:
        raise ValidationError(f"nothing to withdraw for {account.address}")
    return amount, contracts.withdraw(account.account)
