"""Delivery through the platform and its send-receive board (Wu et al. section III.A steps 13-21).

Instead of serving the ciphertext from its own node, a seller can hand it to the platform, which relays it:

1. the seller's node delivers as usual (``market.deliver``: the data re-encrypted to the buyer's Registry key,
   the SHA-256 of that ciphertext committed on chain as the delivery hash), then uploads the ciphertext to the
   platform (:meth:`SendReceiveBoard.accept_upload`: only the order's seller, and only bytes that hash to the
   delivery hash on chain; kept in the platform's content-addressed blob store);
2. the seller signs a :class:`DeliveryNotice` ``(order, seller, buyer, delivery hash, t1, received=false)`` with
   EIP-712 and posts it; the platform checks the signature and the parties against ``Market`` and records it on
   the board (:meth:`SendReceiveBoard.record_sent`);
3. the buyer downloads the ciphertext from the platform (only the order's buyer, as from a seller's node),
   checks it against the chain, decrypts it, and posts its own signed notice ``(…, received hash, t2,
   received=true)`` (:meth:`SendReceiveBoard.record_received`).

The board (SQLite, :class:`~datagora.storage.send_receive.SendReceiveStore`) is the platform's evidence of the
off-chain transfer: who sent and who received which bytes, when, each signed by its author (steps 17 and 21).
:meth:`SendReceiveBoard.view` gives it to the order's parties and the supervisor with the step-22 check: the hash
the seller sent, the hash the buyer received and the delivery hash on chain agree. The paper encrypts each notice to
the platform; here they travel over the platform node's API after Sign-In with Ethereum, and the EIP-712 signature
is what makes a notice non-repudiable.

Seller and buyer nodes use :func:`send_through_relay` and :func:`report_received` with any :class:`RelayPeer`
(``datagora.api.client.NodeClient`` is one).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.eip712 import recover_typed_data, sign_typed_data
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied, CryptoError, NotFoundError, ValidationError
from datagora.domain.models import Order, OrderState
from datagora.fingerprint import Fingerprint, is_near_duplicate, similarity
from datagora.services.participant import Participant
from datagora.storage.blobstore import BlobStore
from datagora.storage.send_receive import RelayedCiphertext, SendReceiveStore, StoredNotice

__all__ = ["RelayedCiphertext"]  # re-exported: the relay's answer type lives with the board's storage

RELAY_DOMAIN_NAME = "Datagora Relay"
"""EIP-712 domain name of delivery notices. The domain is ``{name, version, chainId}`` with no
``verifyingContract``: no contract verifies a notice (the platform's relay does), and a wallet that checks a
domain's verifying contract against the contract it claims to be would rightly refuse a "Datagora Relay" domain
naming the Market. The Market address is a field of the notice instead, so a notice is still worthless on
another deployment."""

RELAY_DOMAIN_VERSION = "1"

DELIVERY_NOTICE_TYPE = (
    "DeliveryNotice(address market,uint256 orderId,address seller,address buyer,bytes32 deliveryHash,"
    "uint256 timestamp,bool received,bytes32 fingerprintHash)"
)
"""EIP-712 encodeType of a notice. ``market`` is the Market contract the order lives in; ``deliveryHash`` is the
SHA-256 of the ciphertext the author sent (seller) or received (buyer); ``timestamp`` Unix seconds (t1 / t2);
``fingerprintHash`` the keccak256 of the data fingerprint (f_S of the data the seller encrypted, f_B of the data
the buyer decrypted; Wu et al. steps 17 and 21), whose bytes travel encrypted to the platform alongside the
notice (zero: no fingerprint)."""

MAX_CLOCK_SKEW = 300
"""Seconds a notice's timestamp may lie ahead of the platform's clock."""

_UINT256_MAX = (1 << 256) - 1
_NOTICE_FIELDS = [
    {"name": "market", "type": "address"},
    {"name": "orderId", "type": "uint256"},
    {"name": "seller", "type": "address"},
    {"name": "buyer", "type": "address"},
    {"name": "deliveryHash", "type": "bytes32"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "received", "type": "bool"},
    {"name": "fingerprintHash", "type": "bytes32"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]
_DELIVERED = (OrderState.DELIVERED, OrderState.COMPLETED)
UploadT = TypeVar("UploadT")
NoticeT = TypeVar("NoticeT")


@dataclass(frozen=True)
class DeliveryNotice:
    """A seller's "sent" (``received`` false, ``timestamp`` t1) or a buyer's "received" (``received`` true,
    ``timestamp`` t2) notice about the ciphertext of ``order_id``: ``delivery_hash`` is its SHA-256 (32 bytes),
    addresses EIP-55. Construct with :meth:`of` to validate the fields."""

    order_id: int
    seller: str
    buyer: str
    delivery_hash: bytes
    timestamp: int
    received: bool
    fingerprint_hash: bytes = bytes(32)

    @classmethod
    def of(
        cls,
        order_id: int,
        seller: str,
        buyer: str,
        delivery_hash: bytes,
        timestamp: int,
        received: bool,
        fingerprint_hash: bytes = bytes(32),
    ) -> DeliveryNotice:
        """A checked notice. Raises ``ValidationError`` for an out-of-range id or time, a malformed address or a
        hash that is not 32 bytes."""
        for what, value in (("order id", order_id), ("timestamp", timestamp)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT256_MAX:
                raise ValidationError(f"{what} must be a uint256, got {value!r}")
        if order_id == 0:
            raise ValidationError("order id must be positive")
        if not isinstance(delivery_hash, bytes | bytearray) or len(delivery_hash) != 32:
            raise ValidationError("delivery hash must be 32 bytes (a SHA-256)")
        if not isinstance(fingerprint_hash, bytes | bytearray) or len(fingerprint_hash) != 32:
            raise ValidationError("fingerprint hash must be 32 bytes (a keccak256)")
        return cls(
            order_id,
            checksum_address(seller),
            checksum_address(buyer),
            bytes(delivery_hash),
            timestamp,
            received,
            bytes(fingerprint_hash),
        )

    @property
    def sender(self) -> str:
        """Who must sign it: the buyer for a "received" notice, the seller otherwise."""
        return self.buyer if self.received else self.seller

    @property
    def kind(self) -> str:
        return "received" if self.received else "sent"

    def typed_data(self, chain_id: int, market: str) -> dict[str, Any]:
        """EIP-712 typed data (``eth_signTypedData_v4`` shape) under the domain ``{name: "Datagora Relay",
        version: "1", chainId}`` (no verifying contract: see :data:`RELAY_DOMAIN_NAME`), with ``market`` in the
        message: a notice is worthless on another chain or deployment."""
        return {
            "types": {"EIP712Domain": list(_DOMAIN_FIELDS), "DeliveryNotice": list(_NOTICE_FIELDS)},
            "primaryType": "DeliveryNotice",
            "domain": {
                "name": RELAY_DOMAIN_NAME,
                "version": RELAY_DOMAIN_VERSION,
                "chainId": chain_id,
            },
            "message": {
                "market": checksum_address(market),
                "orderId": self.order_id,
                "seller": self.seller,
                "buyer": self.buyer,
                "deliveryHash": "0x" + self.delivery_hash.hex(),
                "timestamp": self.timestamp,
                "received": self.received,
                "fingerprintHash": "0x" + self.fingerprint_hash.hex(),
            },
        }

    def sign(self, private_key: bytes, chain_id: int, market: str) -> bytes:
        """The 65-byte EIP-712 signature (r || s || v) of ``private_key`` over this notice."""
        return sign_typed_data(private_key, self.typed_data(chain_id, market))

    def signer(self, signature: bytes, chain_id: int, market: str) -> str:
        """The address that signed this notice (``CryptoError`` for a malformed signature)."""
        return recover_typed_data(self.typed_data(chain_id, market), signature)


@dataclass(frozen=True)
class BoardEntry:
    """One recorded notice: ``entry_id`` (board order), the notice, its signature and when the platform
    recorded it (``recorded_at``, Unix seconds of the platform's clock)."""

    entry_id: int
    notice: DeliveryNotice
    signature: bytes
    recorded_at: int


@dataclass(frozen=True)
class BoardView:
    """The board of one order with its parties and state from ``Market``. ``consistent`` is step 22: None until
    both a "sent" and a "received" notice are recorded, then whether the latest of each carry the delivery hash
    committed on chain and, when both came with a fingerprint, whether f_S and f_B match
    (``fingerprints_match``: None when a fingerprint is missing; similarity by :mod:`datagora.fingerprint`)."""

    order: Order
    seller: str
    relayed: RelayedCiphertext | None
    entries: list[BoardEntry]
    consistent: bool | None
    fingerprints_match: bool | None = None
    similarity: float | None = None


class SendReceiveBoard:
    """The platform's relay: ciphertext held in its blob store ``store`` and the send-receive board in the
    SQLite file ``db_path``. ``operator`` is the platform's account (it may read every board); ``clock`` gives
    Unix seconds. Thread-safe."""

    def __init__(
        self,
        contracts: Contracts,
        store: BlobStore,
        db_path: Path,
        *,
        operator: str | None = None,
        platform_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.contracts = contracts
        self.platform_key = platform_key
        self.store = store
        self.db_path = Path(db_path)
        self.operator = operator
        self.clock = clock
        self.staging = self.db_path.parent / "relay-staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        for leftover in self.staging.glob("upload-*.part"):  # uploads cut short by a crash of this node
            leftover.unlink(missing_ok=True)
        self.rows = SendReceiveStore(self.db_path)

    # -- the order on chain --------------------------------------------------------------------------------

    def _parties(self, order_id: int) -> tuple[Order, str]:
        """The order and its seller; ``NotFoundError`` for an unknown order."""
        order = self.contracts.market.order(order_id)
        return order, self.contracts.market.listing(order.listing_id).seller

    # -- ciphertext ----------------------------------------------------------------------------------------

    def check_uploader(self, order_id: int, uploader: str) -> Order:
        """Refuse an upload before any byte is read: ``uploader`` must be the order's seller
        (``AccessDenied``) and the order delivered on chain (``ValidationError``: no delivery hash yet)."""
        order, seller = self._parties(order_id)
        if seller.lower() != uploader.lower():
            raise AccessDenied(f"only the seller of order {order_id} may upload its delivery; you are {uploader}")
        if order.state not in _DELIVERED:
            raise ValidationError(
                f"order {order_id} is {order.state.name.lower()}: deliver it first (commit the delivery hash)"
            )
        return order

    def staging_file(self) -> Path:
        """A fresh path under the staging directory for an upload in progress (the caller removes it)."""
        return self.staging / f"upload-{secrets.token_hex(12)}.part"

    def accept_upload(self, order_id: int, staged: Path, uploader: str) -> RelayedCiphertext:
        """Keep the uploaded file ``staged`` as the relayed ciphertext of ``order_id``: checked again against the
        order (:meth:`check_uploader`), its SHA-256 must equal the delivery hash on chain (``ValidationError``
        otherwise, and nothing is stored). Uploading the same bytes again is harmless. Streams; memory stays
        bounded."""
        order = self.check_uploader(order_id, uploader)
        digest = sha256_file(staged)
        if digest != order.delivery_hash:
            raise ValidationError(
                f"the upload (sha256 {digest.hex()}) is not the ciphertext committed on chain for order {order_id}"
            )
        blob = self.store.put_file(staged)
        relayed = RelayedCiphertext(
            order_id, blob, self.store.size(blob), checksum_address(uploader), int(self.clock())
        )
        self.rows.put_relayed(relayed)
        return relayed

    def relayed(self, order_id: int) -> RelayedCiphertext | None:
        """What the platform holds for ``order_id``, or None."""
        return self.rows.relayed(order_id)

    def open_relayed(self, order: Order) -> tuple[int, BinaryIO]:
        """Size and an open, verified handle of the relayed ciphertext of ``order`` (the caller closes it).
        ``NotFoundError`` when the platform holds none, or none matching the delivery hash on chain (saying so
        when it was deleted after the order settled)."""
        relayed = self.relayed(order.id)
        if relayed is None or relayed.blob != order.delivery_hash.hex():
            if relayed is None and self.rows.purged_at(order.id) is not None:
                raise NotFoundError(
                    f"the platform deleted the relayed delivery of order {order.id} after the order settled and its "
                    "dispute window passed; the seller's node may still serve it"
                )
            raise NotFoundError(f"the platform relays no delivery for order {order.id}")
        return self.store.size(relayed.blob), self.store.open(relayed.blob)

    def retention_over(self, order_id: int) -> bool:
        """Whether the platform may stop keeping what it holds for ``order_id``: the order is settled (completed
        or refunded) on chain and the Market's dispute window (seconds) has passed since the block of its
        ``Settled`` event, by the chain's clock."""
        try:
            order = self.contracts.market.order(order_id)
        except NotFoundError:  # not on this chain (a reset devnet): nothing to keep it for
            return True
        if not order.state.settled:
            return False
        settled = self.contracts.market.events("Settled", order_id)
        if not settled:
            return False
        since = self.contracts.chain.block_timestamp(settled[-1].block_number)
        return self.contracts.chain.now() >= since + self.contracts.market.dispute_window()

    def sweep(self) -> list[int]:
        """Delete every relayed ciphertext whose order is settled and whose dispute window has passed
        (:meth:`retention_over`): the blob leaves the platform's store, the board keeps the signed notices (hashes
        and times, no data) and notes when the ciphertext was deleted. Returns the orders swept. Run at the
        platform node's start and periodically."""
        swept = []
        for order_id in self.rows.relayed_orders():
            if not self.retention_over(order_id):
                continue
            dropped = self.rows.forget_relayed(order_id, int(self.clock()))
            if dropped is not None and self.store.has(dropped.blob):
                self.store.delete(dropped.blob)
            swept.append(order_id)
        return swept

    # -- notices -------------------------------------------------------------------------------------------

    def _verify(self, notice: DeliveryNotice, signature: bytes, poster: str | None) -> Order:
        role = "buyer" if notice.received else "seller"
        chain_id = self.contracts.chain.chain_id
        signer = notice.signer(signature, chain_id, self.contracts.addresses["Market"])
        if signer != notice.sender:
            raise AccessDenied(f"the notice is signed by {signer}, not by its {role} {notice.sender}")
        if poster is not None and poster.lower() != signer.lower():
            raise AccessDenied(f"{poster} may not post a notice signed by {signer}")
        order, seller = self._parties(notice.order_id)
        if seller != notice.seller:
            raise AccessDenied(f"{notice.seller} is not the seller of order {order.id}")
        if order.buyer != notice.buyer:
            raise AccessDenied(f"{notice.buyer} is not the buyer of order {order.id}")
        if order.state not in _DELIVERED:
            raise ValidationError(f"order {order.id} is {order.state.name.lower()}: nothing delivered yet")
        if notice.timestamp > self.clock() + MAX_CLOCK_SKEW:
            raise ValidationError(f"notice timestamp {notice.timestamp} is in the future")
        return order

    def _open_fingerprint(self, notice: DeliveryNotice, encrypted_fingerprint: bytes | None) -> bytes | None:
        """Decrypt ``E_PkP(f)`` sent with a notice and check it against the signed ``fingerprintHash``."""
        zero = notice.fingerprint_hash == bytes(32)
        if encrypted_fingerprint is None:
            if not zero:
                raise ValidationError("the notice names a fingerprint hash but carries no fingerprint")
            return None
        if zero:
            raise ValidationError("a fingerprint was sent with a notice whose fingerprint hash is zero")
        if self.platform_key is None:
            raise ValidationError("this relay does not take fingerprints (no platform key)")
        try:
            fingerprint = decrypt_with(self.platform_key, encrypted_fingerprint)
        except CryptoError as exc:
            raise CryptoError(f"fingerprint not readable by the platform: {exc}") from exc
        if keccak256(fingerprint) != notice.fingerprint_hash:
            raise ValidationError("the fingerprint does not match the fingerprint hash the notice's author signed")
        try:
            Fingerprint.from_bytes(fingerprint)
        except ValidationError as exc:
            raise ValidationError(f"malformed fingerprint: {exc}") from exc
        return fingerprint

    def _record(self, notice: DeliveryNotice, signature: bytes, fingerprint: bytes | None) -> BoardEntry:
        row = StoredNotice(
            0,
            notice.order_id,
            notice.seller,
            notice.buyer,
            notice.delivery_hash,
            notice.timestamp,
            notice.received,
            bytes(signature),
            int(self.clock()),
            notice.fingerprint_hash,
        )
        stored = self.rows.add_notice(row, fingerprint)  # the same signed notice again: recorded once
        return BoardEntry(stored.entry_id, notice, stored.signature, stored.recorded_at)

    def record_sent(
        self,
        notice: DeliveryNotice,
        signature: bytes,
        *,
        poster: str | None = None,
        encrypted_fingerprint: bytes | None = None,
    ) -> BoardEntry:
        """Record the seller's notice (step 17) once the platform holds the ciphertext. Checks: a "sent"
        notice, signed by its seller (EIP-712), posted by that seller when ``poster`` is given (the SIWE
        identity), seller and buyer those of the order on chain, the order delivered, the hash the delivery hash
        on chain and the relayed ciphertext's, the time not in the future, and the fingerprint ``E_PkP(f_S)``
        (optional) decryptable by the platform and hashing to the signed ``fingerprintHash``. Raises
        ``AccessDenied``, ``ValidationError``, ``NotFoundError``, ``CryptoError``."""
        if notice.received:
            raise ValidationError("a seller's notice has received = false")
        order = self._verify(notice, signature, poster)
        if notice.delivery_hash != order.delivery_hash:
            raise ValidationError(f"order {order.id} was delivered with another hash on chain")
        relayed = self.relayed(order.id)
        if relayed is None or relayed.blob != order.delivery_hash.hex():
            raise ValidationError(f"the platform holds no ciphertext of order {order.id}: upload it first")
        fingerprint = self._open_fingerprint(notice, encrypted_fingerprint)
        return self._record(notice, signature, fingerprint)

    def record_received(
        self,
        notice: DeliveryNotice,
        signature: bytes,
        *,
        poster: str | None = None,
        encrypted_fingerprint: bytes | None = None,
    ) -> BoardEntry:
        """Record the buyer's notice (step 21): signed by the order's buyer, about a delivered order, with the
        buyer's fingerprint ``E_PkP(f_B)`` of the decrypted data (optional). The hash is what the buyer
        received; a mismatch with the chain is recorded as evidence and shows in :meth:`view` (``consistent``
        false). Raises as :meth:`record_sent`."""
        if not notice.received:
            raise ValidationError("a buyer's notice has received = true")
        self._verify(notice, signature, poster)
        fingerprint = self._open_fingerprint(notice, encrypted_fingerprint)
        return self._record(notice, signature, fingerprint)

    def record(
        self,
        notice: DeliveryNotice,
        signature: bytes,
        *,
        poster: str | None = None,
        encrypted_fingerprint: bytes | None = None,
    ) -> BoardEntry:
        """:meth:`record_received` or :meth:`record_sent`, after the notice's ``received`` flag."""
        if notice.received:
            return self.record_received(notice, signature, poster=poster, encrypted_fingerprint=encrypted_fingerprint)
        return self.record_sent(notice, signature, poster=poster, encrypted_fingerprint=encrypted_fingerprint)

    def entries(self, order_id: int) -> list[BoardEntry]:
        """The notices recorded for ``order_id``, oldest first."""
        return [
            BoardEntry(
                row.entry_id,
                DeliveryNotice(
                    row.order_id,
                    row.seller,
                    row.buyer,
                    row.delivery_hash,
                    row.timestamp,
                    row.received,
                    row.fingerprint_hash,
                ),
                row.signature,
                row.recorded_at,
            )
            for row in self.rows.notices(order_id)
        ]

    def fingerprint(self, entry: BoardEntry) -> bytes | None:
        """The decrypted fingerprint that came with a board entry (platform-internal; never served)."""
        return self.rows.fingerprint(entry.signature)

    def check(self, order_id: int) -> BoardView:
        """Step 22 as the platform runs it (no reader check): :meth:`view` for the platform itself."""
        order, seller = self._parties(order_id)
        return self._view(order, seller)

    def view(self, order_id: int, reader: str) -> BoardView:
        """The board of ``order_id`` for ``reader``: the order's seller or buyer, the Registry supervisor or the
        platform's own account (``AccessDenied`` for anyone else, ``NotFoundError`` for an unknown order)."""
        order, seller = self._parties(order_id)
        allowed = {seller.lower(), order.buyer.lower(), self.contracts.registry.supervisor().lower()}
        if self.operator is not None:
            allowed.add(self.operator.lower())
        if reader.lower() not in allowed:
            raise AccessDenied(f"only the parties of order {order_id} and the supervisor may read its board")
        return self._view(order, seller)

    def _view(self, order: Order, seller: str) -> BoardView:
        entries = self.entries(order.id)
        sent = [e for e in entries if not e.notice.received]
        received = [e for e in entries if e.notice.received]
        consistent = None
        match: bool | None = None
        score: float | None = None
        if sent and received:
            consistent = sent[-1].notice.delivery_hash == received[-1].notice.delivery_hash == order.delivery_hash
            f_s, f_b = self.fingerprint(sent[-1]), self.fingerprint(received[-1])
            if f_s is not None and f_b is not None:
                a, b = Fingerprint.from_bytes(f_s), Fingerprint.from_bytes(f_b)
                score = float(similarity(a, b)) if a.method == b.method else 0.0
                match = f_s == f_b or (a.method == b.method and is_near_duplicate(a, b))
                consistent = consistent and match
        return BoardView(order, seller, self.relayed(order.id), entries, consistent, match, score)


# -- the seller's and the buyer's side -------------------------------------------------------------------------


UploadT_co = TypeVar("UploadT_co", covariant=True)
NoticeT_co = TypeVar("NoticeT_co", covariant=True)


class RelayPeer(Protocol[UploadT_co, NoticeT_co]):
    """The platform's relay seen from a seller's or buyer's node: ``datagora.api.client.NodeClient`` signed in as
    that node (answers: the API's ``RelayedOut`` and ``BoardEntryOut``), or the :class:`SendReceiveBoard` itself
    through :class:`LocalRelay` (answers: :class:`RelayedCiphertext` and :class:`BoardEntry`). The services pass
    the relay's answers back to their caller unchanged."""

    def relay_upload(self, order_id: int, src: BinaryIO, size: int) -> UploadT_co: ...

    def relay_notice(
        self, notice: DeliveryNotice, signature: bytes, *, encrypted_fingerprint: bytes | None = None
    ) -> NoticeT_co: ...


class LocalRelay:
    """A :class:`RelayPeer` for participants that reach the platform's board in-process (the demo, tests, a
    platform node relaying for itself): ``poster`` is the participant's address, checked as the API would."""

    def __init__(self, board: SendReceiveBoard, poster: str) -> None:
        self.board = board
        self.poster = poster

    def relay_upload(self, order_id: int, src: BinaryIO, size: int) -> RelayedCiphertext:
        self.board.check_uploader(order_id, self.poster)
        staged = self.board.staging_file()
        try:
            with staged.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            return self.board.accept_upload(order_id, staged, self.poster)
        finally:
            staged.unlink(missing_ok=True)

    def relay_notice(
        self, notice: DeliveryNotice, signature: bytes, *, encrypted_fingerprint: bytes | None = None
    ) -> BoardEntry:
        return self.board.record(notice, signature, poster=self.poster, encrypted_fingerprint=encrypted_fingerprint)


def _post_notice(
    contracts: Contracts,
    author: Participant,
    notice: DeliveryNotice,
    fingerprint: bytes | None,
    relay: RelayPeer[Any, NoticeT],
) -> NoticeT:
    signature = notice.sign(author.private_key, contracts.chain.chain_id, contracts.addresses["Market"])
    if fingerprint is None:
        return relay.relay_notice(notice, signature)
    platform_key = contracts.registry.public_key(contracts.market.platform())
    return relay.relay_notice(notice, signature, encrypted_fingerprint=encrypt_to(platform_key, fingerprint))


def send_through_relay(
    contracts: Contracts,
    seller: Participant,
    order_id: int,
    relay: RelayPeer[UploadT, NoticeT],
    *,
    fingerprint: bytes | None = None,
    with_fingerprint: bool = True,
    clock: Callable[[], float] = time.time,
) -> tuple[UploadT, NoticeT]:
    """Steps 13-17 on the seller's side, after ``market.deliver``: upload the ciphertext of ``order_id`` from
    the seller's store to the platform, then post the signed "sent" notice with t1 = now and ``E_PkP(f_S)``:
    ``fingerprint`` (default: the fingerprint the seller computed when it published the dataset; none when
    ``with_fingerprint`` is false). Returns the relay's answers (upload, board entry). Raises ``AccessDenied``
    (not the seller), ``ValidationError`` (not delivered), ``NotFoundError`` (the store lacks the ciphertext)
    and the relay's errors."""
    order = contracts.market.order(order_id)
    listing = contracts.market.listing(order.listing_id)
    if listing.seller.lower() != seller.address.lower():
        raise AccessDenied(f"order {order_id} is not a sale by {seller.address}")
    if order.state not in _DELIVERED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}: deliver it first")
    blob = order.delivery_hash.hex()
    if blob not in seller.store:
        raise NotFoundError(f"{seller.label} holds no delivery for order {order_id}")
    if with_fingerprint and fingerprint is None:
        dataset = contracts.catalog.dataset(listing.token_id)
        fingerprint = bytes.fromhex(seller.load_record("datasets", dataset.content_hash.hex())["fingerprint"])
    with seller.store.open(blob) as src:
        upload = relay.relay_upload(order_id, src, seller.store.size(blob))
    fp = fingerprint if with_fingerprint else None
    fingerprint_hash = keccak256(fp) if fp is not None else bytes(32)
    notice = DeliveryNotice.of(
        order_id, seller.address, order.buyer, order.delivery_hash, int(clock()), False, fingerprint_hash
    )
    return upload, _post_notice(contracts, seller, notice, fp, relay)


def report_received(
    contracts: Contracts,
    buyer: Participant,
    order_id: int,
    received_hash: bytes,
    relay: RelayPeer[Any, NoticeT],
    *,
    fingerprint: bytes | None = None,
    clock: Callable[[], float] = time.time,
) -> NoticeT:
    """Step 21 on the buyer's side: post the signed "received" notice (``received_hash``: SHA-256 of the
    ciphertext the buyer got, t2 = now) with ``E_PkP(f_B)`` when ``fingerprint`` (of the decrypted data, by
    the same generator as the seller's: ``publishing.fingerprint_of``) is given. Returns the relay's board
    entry."""
    order = contracts.market.order(order_id)
    seller = contracts.market.listing(order.listing_id).seller
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    fingerprint_hash = keccak256(fingerprint) if fingerprint is not None else bytes(32)
    notice = DeliveryNotice.of(order_id, seller, buyer.address, received_hash, int(clock()), True, fingerprint_hash)
    return _post_notice(contracts, buyer, notice, fingerprint, relay)


def report_receipt(
    contracts: Contracts,
    buyer: Participant,
    order_id: int,
    plaintext: Path,
    ciphertext: Path,
    relay: RelayPeer[Any, NoticeT],
    *,
    clock: Callable[[], float] = time.time,
) -> NoticeT:
    """Step 21 after a receive from the relay: the buyer's "received" notice about ``ciphertext`` (its SHA-256)
    with ``E_PkP(f_B)``, f_B the fingerprint of the decrypted ``plaintext`` by the seller's generator
    (``publishing.fingerprint_of``); the notice goes without a fingerprint for content the fingerprinting does
    not support. Returns the relay's board entry. Raises as :func:`report_received`."""
    from datagora.services.publishing import fingerprint_of  # late: fingerprinting libraries load on first use

    try:
        fingerprint: bytes | None = fingerprint_of(plaintext)
    except ValidationError:
        fingerprint = None
    return report_received(
        contracts, buyer, order_id, sha256_file(ciphertext), relay, fingerprint=fingerprint, clock=clock
    )
