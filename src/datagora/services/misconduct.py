"""What a dishonest or careless node does, for the demos and the tests of dispute handling (Wu et al. section
IV.A): deliver other data than the dataset sold, seal any file for the platform as a "re-upload", open an
envelope without the content check. An honest node uses :mod:`datagora.services.market` and
:mod:`datagora.services.disputes` instead."""

from __future__ import annotations

from pathlib import Path

from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import decrypt_file, encrypt_file
from datagora.domain.models import TxResult
from datagora.services.participant import Participant


def deliver_other_file(
    contracts: Contracts, seller: Participant, order_id: int, path: Path, work: Path
) -> tuple[bytes, TxResult]:
    """The seller encrypts ``path`` (not the dataset sold) to the order's buyer under the buyer's registered key,
    keeps the ciphertext in its store (as ``work/order-<id>.dge`` first) and commits its SHA-256 on chain as the
    delivery. Returns the 32-byte delivery hash and the transaction. Raises ``TransactionReverted`` when the order
    cannot be delivered."""
    buyer = contracts.market.order(order_id).buyer
    work.mkdir(parents=True, exist_ok=True)
    cipher = work / f"order-{order_id}.dge"
    encrypt_file(path, cipher, {buyer: contracts.registry.public_key(buyer)})
    delivery_hash = bytes.fromhex(seller.store.put_file(cipher))
    return delivery_hash, contracts.market.deliver(seller.account, order_id, delivery_hash)


def seal_for(contracts: Contracts, recipient: str, path: Path, out: Path) -> Path:
    """Encrypt ``path`` to ``recipient``'s key registered in Registry (e.g. a "re-upload" of any file to the
    platform), written to ``out``. Returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    encrypt_file(path, out, {recipient: contracts.registry.public_key(recipient)})
    return out


def open_unchecked(participant: Participant, cipher: Path, out: Path) -> Path:
    """Decrypt an envelope addressed to ``participant`` without checking it against the chain (what a buyer does
    to look at data that failed the content-hash check). Raises ``CryptoError`` for another key or a tampered
    envelope. Returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    decrypt_file(cipher, out, participant.private_key)
    return out


def list_on_chain(
    contracts: Contracts, seller: Participant, token_id: int, price: int, window: int
) -> tuple[int, TxResult]:
    """Send a fixed-price listing straight to the Market contract, skipping the node's checks (price in wei,
    delivery and confirmation ``window`` in seconds, no collateral). Returns the listing id and the transaction.
    Raises ``TransactionReverted`` with the contract's reason, e.g. ``"market: not token owner"``."""
    return contracts.market.list(seller.account, token_id, price, window, window, collateral=0)
