"""Retiring a dataset: the owner takes it off the market for good and destroys its data (crypto-shredding).

:func:`retire` runs on the owner's node, in this order:

1. checks: the dataset exists, is not retired already, and the caller holds its data NFT. A token in the
   Market's custody is not the seller's: an open ownership listing without a buyer is cancelled first (the NFT
   and the collateral come back); a paid order, an accepted offer or an auction with a bid must complete or be
   refunded on chain first (:class:`~datagora.domain.errors.Conflict` says which), so no paid order is ever stuck;
2. the owner's open use-right listings of the dataset are cancelled (no new orders). Prepaid use-right orders can
   no longer be answered; their unused credit goes back to the buyer when the usage window ends (``expire``);
3. ``Catalog.retire`` burns the token and emits ``Retired``; from then on both sale contracts refuse to list or
   sell it (their ``ownerOf`` check reverts), and the node answers every route about it with 410 Gone;
4. crypto-shredding: every ciphertext of the dataset in the owner's blob store (its own copy, whose header holds
   the only wrapped copy of its data key the owner kept, and the copies re-encrypted for buyers) is deleted, with
   the dataset's record (fingerprint, salt, DCAT description), its use-right policies and the delivery files in
   the outbox. Only hashes were ever on chain.

Copies that buyers received are theirs: they were encrypted to the buyers' keys and live on the buyers' nodes;
retiring cannot and does not reach them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from datagora.chain.contracts import Contracts
from datagora.domain.errors import AccessDenied, Conflict, DatasetRetired
from datagora.domain.models import ListingState, OrderState, Pricing, SaleKind, TxResult
from datagora.services.participant import Participant


@dataclass(frozen=True)
class Shredded:
    """What crypto-shredding removed from the owner's node: blob addresses (SHA-256 hex of the ciphertexts) and
    files (records, policies, outbox deliveries)."""

    blobs: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Retirement:
    """The result of :func:`retire`: the dataset, the listings cancelled, the prepaid use-right orders that will
    refund their unused credit when their usage window ends, what was shredded, and the transactions sent."""

    token_id: int
    cancelled_listings: list[int]
    refunding_orders: list[int]
    shredded: Shredded
    txs: list[TxResult]


def _listings_of(contracts: Contracts, token_id: int) -> list[int]:
    """Every Market and UseRights listing of ``token_id`` (from the ``Listed`` events), oldest first."""
    logs = contracts.get_logs([contracts.market.address, contracts.use_rights.address])
    return [
        int(ev.args["listing_id"])
        for ev in contracts.decode(logs)
        if ev.name == "Listed" and int(ev.args["token_id"]) == token_id
    ]


def _orders_of(contracts: Contracts, listing_ids: set[int]) -> list[int]:
    """Every order paid on one of ``listing_ids`` (from the ``OrderPaid`` events)."""
    logs = contracts.get_logs([contracts.market.address, contracts.use_rights.address])
    return [
        int(ev.args["order_id"])
        for ev in contracts.decode(logs)
        if ev.name == "OrderPaid" and int(ev.args["listing_id"]) in listing_ids
    ]


def _free_custody(
    contracts: Contracts, owner: Participant, token_id: int, listing_ids: list[int], cancelled: list[int]
) -> list[TxResult]:
    """Bring the NFT back from the Market's custody by cancelling the seller's open ownership listing (its id
    appended to ``cancelled``), or raise ``Conflict`` when a buyer is already committed to it."""
    txs = []
    for listing_id in listing_ids:
        listing = contracts.market.listing(listing_id)
        if listing.kind != SaleKind.OWNERSHIP or listing.seller.lower() != owner.address.lower():
            continue
        if listing.state == ListingState.PENDING:
            raise Conflict(
                f"dataset {token_id} is sold under listing {listing_id} and its order is not settled: it can be "
                "retired once that order completes or is refunded"
            )
        if listing.state != ListingState.ACTIVE:
            continue
        if listing.pricing == Pricing.AUCTION and int(contracts.market.auction(listing_id).highest_bidder, 16):
            raise Conflict(
                f"dataset {token_id} is in an auction with bids (listing {listing_id}): settle the auction and "
                "its order first"
            )
        txs.append(contracts.market.cancel(owner.account, listing_id))
        cancelled.append(listing_id)
    return txs


def shred(owner: Participant, content_hash: bytes, delivery_blobs: list[str], listing_ids: list[int]) -> Shredded:
    """Delete what ``owner`` keeps of the dataset with ``content_hash``: its encrypted copy (and with it the data
    key wrapped to the owner), the ciphertexts it re-encrypted for buyers (``delivery_blobs``, hex SHA-256),
    the outbox files holding the same bytes, the dataset's record and the ODRL policies of ``listing_ids``.
    Safe to run again (deletes what is left)."""
    blobs: list[str] = []
    files: list[Path] = []
    record_path = owner.paths.record("datasets", content_hash.hex())
    own_blob = None
    if record_path.is_file():
        own_blob = json.loads(record_path.read_text()).get("blob")
    for blob in [own_blob, *delivery_blobs]:
        if blob and owner.store.has(blob):
            owner.store.delete(blob)
            blobs.append(blob)
    targets = set(delivery_blobs)
    outbox = owner.paths.outbox
    if targets and outbox.is_dir():
        from datagora.crypto.hashing import sha256_file

        for path in outbox.glob("*.dge"):
            if path.is_file() and sha256_file(path).hex() in targets:
                path.unlink()
                files.append(path)
    for path in [record_path, *(owner.paths.record("policies", str(i)) for i in listing_ids)]:
        if path.is_file():
            path.unlink()
            files.append(path)
    return Shredded(blobs, files)


def retire(contracts: Contracts, owner: Participant, token_id: int) -> Retirement:
    """Retire dataset ``token_id`` (see the module docstring): cancel its open listings, burn its token
    (``Catalog.retire``, event ``Retired``) and destroy the owner's ciphertexts and data keys of it.

    Raises ``NotFoundError`` (no such dataset), ``DatasetRetired`` (retired already; the node's store is
    shredded again all the same), ``AccessDenied`` (the caller does not own it), ``Conflict`` (a buyer's order
    or an auction bid holds the token: finish or refund it first), ``TransactionReverted``."""
    try:
        dataset = contracts.catalog.dataset(token_id)
    except DatasetRetired:
        shred(owner, contracts.catalog.content_hash_of(token_id), [], [])
        raise
    listing_ids = _listings_of(contracts, token_id)
    holder = dataset.owner.lower()
    txs: list[TxResult] = []
    cancelled: list[int] = []
    if holder == contracts.market.address.lower():
        txs += _free_custody(contracts, owner, token_id, listing_ids, cancelled)
        holder = contracts.catalog.owner_of(token_id).lower()
    if holder != owner.address.lower():
        raise AccessDenied(f"only the owner of dataset {token_id} may retire it; it is held by {dataset.owner}")
    refunding: list[int] = []
    for listing_id in listing_ids:
        listing = contracts.market.listing(listing_id)
        if listing.kind != SaleKind.USE_RIGHT or listing.seller.lower() != owner.address.lower():
            continue
        if listing.state == ListingState.ACTIVE:
            txs.append(contracts.use_rights.cancel(owner.account, listing_id))
            cancelled.append(listing_id)
    use_right_listings = {i for i in listing_ids if contracts.market.listing(i).kind == SaleKind.USE_RIGHT}
    for order_id in _orders_of(contracts, use_right_listings):
        order = contracts.market.order(order_id)
        if order.state == OrderState.PAID and order.queries_left > 0:
            refunding.append(order_id)
    txs.append(contracts.catalog.retire(owner.account, token_id))
    delivered = _delivery_blobs(contracts, set(listing_ids) - use_right_listings)
    shredded = shred(owner, dataset.content_hash, delivered, listing_ids)
    return Retirement(token_id, cancelled, refunding, shredded, txs)


def _delivery_blobs(contracts: Contracts, ownership_listings: set[int]) -> list[str]:
    """The delivery hashes (hex: the addresses of the re-encrypted copies) of orders on ``ownership_listings``."""
    out = []
    for order_id in _orders_of(contracts, ownership_listings):
        order = contracts.market.order(order_id)
        if order.delivery_hash != bytes(32):
            out.append(order.delivery_hash.hex())
    return out


def holds_nothing(owner: Participant, content_hash: bytes, blobs: list[str]) -> bool:
    """Whether ``owner``'s node keeps no record of the dataset with ``content_hash`` and none of ``blobs``."""
    if owner.paths.record("datasets", content_hash.hex()).exists():
        return False
    return not any(owner.store.has(b) for b in blobs)
