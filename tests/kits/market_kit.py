"""Helpers for the market tests that keep their own stories (the fake seller fingerprint): publishing with a forged
fingerprint, the platform's relay with its send-receive board, the seller's and the buyer's sides of a relayed
delivery, and exact withdrawals (balances net of gas)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from web3 import Web3

from datagora.chain.client import Chain
from datagora.crypto.hashing import keccak256
from datagora.domain.models import ETHER as ETHER_TOKEN
from datagora.domain.models import TxResult
from datagora.services import market, publishing
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.publishing import fingerprint_of
from datagora.services.relay import LocalRelay, SendReceiveBoard, report_received, send_through_relay
from datagora.storage.blobstore import BlobStore
from tests.world import World

DAY = 86_400


def attestor(world: World) -> NoveltyAttestor:
    """The platform's attestation service of this test (the ``world`` fixture sets one up per test)."""
    assert world.attestor is not None
    return world.attestor


def publish_with_fake_fingerprint(world: World, path: Path, name: str, fake: bytes) -> int:
    """A dishonest seller's step 4 (Wu et al. section IV.A.3): it registers ``fake`` as the fingerprint of
    ``path`` (the content hash stays the real one)."""
    prepared = publishing.prepare(world.seller, path, name=name, domain="test")
    forged = replace(prepared, fingerprint=fake, fingerprint_commitment=keccak256(prepared.salt + fake))
    token_id, _, _ = publishing.publish(world.contracts, world.seller, forged, attestor(world))
    return token_id


def make_board(world: World, root: Path) -> SendReceiveBoard:
    """The platform's relay: its blob store, its send-receive board, its key to read fingerprints, and the
    chain's clock (t1, t2 are chain time, which the tests move)."""
    return SendReceiveBoard(
        world.contracts,
        BlobStore(root / "blobs"),
        root / "board.sqlite",
        operator=world.platform.address,
        platform_key=world.platform.private_key,
        clock=world.chain.now,
    )


def relay_delivery(
    world: World, board: SendReceiveBoard, seller: Participant, order_id: int, *, fingerprint: bytes | None = None
) -> market.Delivery:
    """Steps 13-17 honestly: the seller delivers (encrypts to the buyer, commits the hash), uploads the ciphertext
    to the platform and posts its signed "sent" notice with ``E_PkP(f_S)`` (default: its published fingerprint)."""
    delivery = market.deliver(world.contracts, seller, order_id, out_dir=seller.home / "outbox")
    send_through_relay(
        world.contracts,
        seller,
        order_id,
        LocalRelay(board, seller.address),
        fingerprint=fingerprint,
        clock=world.chain.now,
    )
    return delivery


def download(world: World, board: SendReceiveBoard, buyer: Participant, order_id: int, dst: Path) -> Path:
    """Step 14 on the buyer's side: fetch the relayed ciphertext of ``order_id`` from the platform."""
    order = world.contracts.market.order(order_id)
    assert order.buyer == buyer.address  # the platform serves the order's buyer only
    _, handle = board.open_relayed(order)
    with handle, dst.open("wb") as out:
        out.write(handle.read())
    return dst


def receive_and_report(
    world: World,
    board: SendReceiveBoard,
    buyer: Participant,
    order_id: int,
    out: Path,
    *,
    fingerprint: bytes | None = None,
) -> tuple[market.Receipt, bytes]:
    """Steps 18-21 honestly: download, check against the chain, decrypt, fingerprint the data (f_B, or the given
    ``fingerprint`` for a lying buyer) and post the signed "received" notice with ``E_PkP(f_B)``. Returns the
    receipt and the fingerprint reported."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cipher = download(world, board, buyer, order_id, out.with_name(out.name + ".dge"))
    receipt = market.receive(world.contracts, buyer, order_id, cipher, out)
    f_b = fingerprint_of(out) if fingerprint is None else fingerprint
    report(world, board, buyer, order_id, cipher, f_b)
    return receipt, f_b


def report(
    world: World, board: SendReceiveBoard, buyer: Participant, order_id: int, cipher: Path, fingerprint: bytes
) -> None:
    """Step 21: the buyer's signed "received" notice (SHA-256 of the ciphertext ``cipher`` it got, t2 = chain
    time) with ``E_PkP(f_B)``."""
    report_received(
        world.contracts,
        buyer,
        order_id,
        hashlib.sha256(cipher.read_bytes()).digest(),
        LocalRelay(board, buyer.address),
        fingerprint=fingerprint,
        clock=world.chain.now,
    )


class Ledger:
    """Exact ether accounting: each participant's balance change since the ledger was opened, plus the gas its
    transactions cost (``net``), i.e. what the market moved to or from it."""

    def __init__(self, world: World, *people: Participant) -> None:
        self.chain = world.chain
        self.start = {p.address: self.chain.balance(p.address) for p in people}
        self.gas: dict[str, int] = defaultdict(int)

    def spent(self, who: Participant, *txs: TxResult) -> None:
        """Record ``txs`` as sent (and paid for) by ``who``."""
        for tx in txs:
            self.gas[who.address] += gas_cost(self.chain, tx)

    def net(self, who: Participant) -> int:
        return self.chain.balance(who.address) - self.start[who.address] + self.gas[who.address]


def gas_cost(chain: Chain, tx: TxResult) -> int:
    """Wei a mined transaction cost its sender (gas used times effective gas price)."""
    receipt = chain.w3.eth.get_transaction_receipt(tx.tx_hash)  # type: ignore[arg-type]
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def withdraw_exactly(
    world: World, ledger: Ledger | None, who: Participant, expected: int, token: str = ETHER_TOKEN
) -> TxResult:
    """``who`` withdraws; the amount, the ``Withdrawn`` event and the balance change must all equal ``expected``
    (the balance net of the withdrawal's gas for ether, exactly for an ERC-20)."""
    c = world.contracts
    owed = c.market.pending_withdrawal(who.address, token) + c.use_rights.pending_withdrawal(who.address, token)
    assert owed == expected  # the Market's and UseRights' debts: market.withdraw claims both
    ether = int(token, 16) == 0
    before = world.chain.balance(who.address) if ether else c.tokens.balance(token, who.address)
    amount, tx = market.withdraw(c, who, token)
    assert amount == expected
    assert tx.event("Withdrawn").args == {
        "account": who.address,
        "payment_token": Web3.to_checksum_address(token),
        "amount": expected,
    }
    if ether:
        assert world.chain.balance(who.address) == before + expected - gas_cost(world.chain, tx)
        if ledger is not None:
            ledger.spent(who, tx)
    else:
        assert c.tokens.balance(token, who.address) == before + expected
    assert c.market.pending_withdrawal(who.address, token) == 0
    return tx
