"""The platform's side of delivery checks, disputes and deadlines (Wu et al. section III.A steps 22-24, section
IV.A.3-5), with the double-deposit outcomes of ``Market`` (Shrestha et al.).

* :func:`check_delivery` — step 22: compare the seller's f_S and the buyer's f_B on the send-receive board.
  Consistent: the buyer is told to confirm. Inconsistent: the platform disputes the order on chain.
* :func:`reupload_for_arbitration` (seller), :func:`disclose_received_key` (buyer) and :func:`arbitrate`
  (platform) — section IV.A.3: the seller re-uploads the data encrypted to the platform, ``E_PkP(D')``; the
  platform fingerprints it (f_{D',P}) and compares it with the fingerprint it attested when the dataset was
  published (f_{D,P}). Consistent: the platform hands ``E_PkB(D')`` to the buyer and the sale completes — the
  buyer's collateral goes to the seller, unless the buyer proved (by disclosing the delivered ciphertext's data
  key) that the seller had sent something else, in which case the seller's collateral goes to the buyer.
  Inconsistent: the seller cheated (fake fingerprint or fabricated data), the order is refunded and the buyer
  receives the seller's collateral.
* :func:`enforce_deadlines` — sections IV.A.4-5: the platform's periodic job refunds undelivered orders after
  the delivery deadline, releases unconfirmed deliveries after the confirmation deadline, unwinds disputes
  nobody resolved, and closes expired use-rights.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from datagora.chain.bindings.use_rights import USE_RIGHTS_ID_OFFSET
from datagora.chain.contracts import Contracts
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.envelope import (
    data_key_of,
    decrypt_stream,
    decrypt_stream_with_data_key,
    encrypt_file,
)
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.crypto.reencrypt import reencrypt_stream
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import (
    AccessDenied,
    Conflict,
    CryptoError,
    NotFoundError,
    TamperedError,
    TransactionReverted,
    ValidationError,
)
from datagora.domain.models import OrderState, Ruling, TxResult
from datagora.fingerprint import Fingerprint, is_near_duplicate, similarity
from datagora.services.attestation import NoveltyAttestor
from datagora.services.market import order_context
from datagora.services.participant import Participant
from datagora.services.publishing import fingerprint_of
from datagora.services.relay import SendReceiveBoard


@dataclass(frozen=True)
class DeliveryCheck:
    """Step 22 for one order: ``consistent`` (None: a notice or fingerprint is still missing), the similarity
    of f_S and f_B when both are known, and what the platform did: ``"wait"``, ``"confirm"`` (the buyer is
    told the transaction succeeded) or ``"dispute"`` (``tx`` is the dispute transaction, ``evidence`` the
    document behind its reason hash)."""

    order_id: int
    consistent: bool | None
    similarity: float | None
    action: str
    tx: TxResult | None = None
    evidence: dict[str, Any] | None = None
    """For ``"dispute"``: the evidence document whose :func:`evidence_hash` is the dispute's reason on chain."""


@dataclass(frozen=True)
class Resolution:
    """The platform's ruling on a disputed order (:class:`~datagora.domain.models.Ruling`) and why:
    ``content_match`` (the re-upload's SHA-256 is the dataset's content hash), ``similarity`` of f_{D',P} to the
    attested f_{D,P}, and — when the buyer disclosed the data key of what it received — ``transmitted_ok``
    (what the seller actually sent is the dataset); ``evidence_hash`` committed on chain, the resolve
    transaction, and when the data is good the buyer's copy ``E_PkB(D')`` (a blob in the platform's store);
    ``evidence`` is the document hashed."""

    order_id: int
    ruling: Ruling
    content_match: bool
    similarity: float
    transmitted_ok: bool | None
    evidence_hash: bytes
    tx: TxResult
    buyer_copy: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    """The evidence document: ``evidence_hash`` is its :func:`evidence_hash`."""

    @property
    def seller_honest(self) -> bool:
        return self.ruling == Ruling.FOR_SELLER


def evidence_hash(evidence: Mapping[str, Any]) -> bytes:
    """Keccak-256 (32 bytes) of the canonical JSON of a dispute's ``evidence`` document
    (:func:`datagora.domain.canonical.canonical_json`): the reason of the platform's dispute and the evidence hash
    of its ruling on chain. Anyone holding the document recomputes the hash with this function."""
    return keccak256(canonical_json(dict(evidence)))


def check_delivery(
    contracts: Contracts, platform: Participant, board: SendReceiveBoard, order_id: int
) -> DeliveryCheck:
    """Step 22: compare the latest "sent" and "received" notices of ``order_id`` (hashes and fingerprints).
    Disputes the order on chain when they disagree (section IV.A.3) and the order is still delivered.
    Raises ``NotFoundError`` for an unknown order, ``TransactionReverted`` when the dispute is refused (e.g.
    the confirmation deadline passed)."""
    view = board.check(order_id)
    if view.consistent is None:
        return DeliveryCheck(order_id, None, view.similarity, "wait")
    if view.consistent:
        return DeliveryCheck(order_id, True, view.similarity, "confirm")
    if view.order.state != OrderState.DELIVERED:
        return DeliveryCheck(order_id, False, view.similarity, "wait")
    evidence = {
        "order_id": order_id,
        "step": 22,
        "sent": [e.signature.hex() for e in view.entries if not e.notice.received][-1:],
        "received": [e.signature.hex() for e in view.entries if e.notice.received][-1:],
        "similarity": view.similarity,
    }
    tx = contracts.market.dispute(platform.account, order_id, evidence_hash(evidence))
    return DeliveryCheck(order_id, False, view.similarity, "dispute", tx, evidence)


def reupload_for_arbitration(contracts: Contracts, seller: Participant, order_id: int, out: Path) -> Path:
    """Section IV.A.3 on the seller's side: write ``E_PkP(D')`` — the seller's copy of the sold dataset
    encrypted to the platform's Registry key — to ``out`` (the file to hand to the platform). Raises
    ``AccessDenied`` (not the seller), ``ValidationError`` (order not disputed), ``NotFoundError``."""
    order, listing, dataset = order_context(contracts, order_id)
    if listing.seller.lower() != seller.address.lower():
        raise AccessDenied(f"order {order_id} is not a sale by {seller.address}")
    if order.state != OrderState.DISPUTED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
    record = seller.load_record("datasets", dataset.content_hash.hex())
    platform_key = contracts.registry.public_key(contracts.market.platform())
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:  # no plaintext on disk
        with seller.store.open(record["blob"]) as src, partial.open("wb") as dst:
            reencrypt_stream(src, dst, seller.private_key, {contracts.market.platform(): platform_key})
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def disclose_received_key(contracts: Contracts, buyer: Participant, order_id: int, ciphertext: Path) -> bytes:
    """The buyer's evidence in a dispute: ``E_PkP(k)``, the data key of the ciphertext the seller delivered for
    ``order_id`` (it must hash to the delivery hash on chain) encrypted to the platform. With it the platform can
    decrypt exactly what the seller sent — and nothing else the buyer holds. Raises ``AccessDenied`` (not the
    buyer), ``TamperedError`` (not the delivered ciphertext), ``WrongKeyError``."""
    order = contracts.market.order(order_id)
    if order.buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    if sha256_file(ciphertext) != order.delivery_hash:
        raise TamperedError(f"{ciphertext.name} is not the ciphertext delivered for order {order_id}")
    with ciphertext.open("rb") as src:
        key = data_key_of(src, buyer.private_key)
    return encrypt_to(contracts.registry.public_key(contracts.market.platform()), key)


ReuploadT_co = TypeVar("ReuploadT_co", covariant=True)
DisclosureT_co = TypeVar("DisclosureT_co", covariant=True)
ReuploadT = TypeVar("ReuploadT")
DisclosureT = TypeVar("DisclosureT")


class EvidencePeer(Protocol[ReuploadT_co, DisclosureT_co]):
    """The platform's node seen from a party of a disputed order (``datagora.api.client.NodeClient`` signed in as
    that party is one): it takes the seller's re-upload and the buyer's disclosed key, and answers with a
    receipt the services hand back unchanged."""

    def reupload(self, order_id: int, src: BinaryIO, size: int) -> ReuploadT_co: ...

    def disclose(self, order_id: int, encrypted_key: bytes) -> DisclosureT_co: ...


def reupload_to(
    contracts: Contracts, seller: Participant, order_id: int, platform: EvidencePeer[ReuploadT, Any]
) -> ReuploadT:
    """The seller's side of section IV.A.3 end to end: write ``E_PkP(D')`` (:func:`reupload_for_arbitration`)
    under ``<seller home>/outbox``, stream it to the platform's node and remove the file. Returns the platform's
    receipt. Raises as :func:`reupload_for_arbitration` and the peer's errors."""
    out = seller.paths.outbox / f"reupload-{order_id}.dge"
    reupload_for_arbitration(contracts, seller, order_id, out)
    try:
        with out.open("rb") as fh:
            return platform.reupload(order_id, fh, out.stat().st_size)
    finally:
        out.unlink(missing_ok=True)


def disclose_to(
    contracts: Contracts,
    buyer: Participant,
    order_id: int,
    platform: EvidencePeer[Any, DisclosureT],
    ciphertext: Path | None = None,
) -> DisclosureT:
    """The buyer's side: disclose the data key of the delivered ``ciphertext`` (default: where the receive flow
    keeps it, ``<buyer home>/inbox/order-<id>.dge``) to the platform's node, encrypted to the platform
    (:func:`disclose_received_key`). Returns the platform's receipt. Raises ``NotFoundError`` (unknown order),
    ``AccessDenied`` (not its buyer), ``ValidationError`` when there is no ciphertext, as
    :func:`disclose_received_key` otherwise, and the peer's errors."""
    if contracts.market.order(order_id).buyer.lower() != buyer.address.lower():
        raise AccessDenied(f"order {order_id} was not paid by {buyer.address}")
    cipher = ciphertext or buyer.paths.inbox / f"order-{order_id}.dge"
    if not cipher.is_file():
        raise ValidationError(f"no delivered ciphertext of order {order_id} at {cipher}: receive it first")
    return platform.disclose(order_id, disclose_received_key(contracts, buyer, order_id, cipher))


def _fingerprint_match(plain: Path, registered: bytes) -> tuple[float, bool]:
    # The platform does not know the file's name: the fingerprint generator detects the kind from content.
    try:
        observed = Fingerprint.from_bytes(fingerprint_of(plain))
        reference = Fingerprint.from_bytes(registered)
    except ValidationError:
        return 0.0, False
    if observed.method != reference.method:
        return 0.0, False
    return float(similarity(observed, reference)), is_near_duplicate(observed, reference)


def _private_file(work: Path, label: str) -> tuple[Path, int]:
    path = work / f"{label}-{secrets.token_hex(6)}"
    return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _transmitted_ok(
    platform: Participant, board: SendReceiveBoard, order_id: int, disclosed_key: bytes, work: Path, expected: bytes
) -> bool:
    """Decrypt the relayed ciphertext with the buyer's disclosed data key: was it the dataset?"""
    relayed = board.relayed(order_id)
    if relayed is None:
        raise NotFoundError(f"the platform relayed no ciphertext for order {order_id}: nothing to check the key on")
    try:
        key = decrypt_with(platform.private_key, disclosed_key)
    except CryptoError as exc:
        raise ValidationError(f"the disclosed key is not encrypted to the platform: {exc}") from exc
    plain, fd = _private_file(work, f"transmitted-{order_id}")
    try:
        try:
            with board.store.open(relayed.blob) as src, os.fdopen(fd, "wb") as dst:
                decrypt_stream_with_data_key(src, dst, key)
        except (TamperedError, ValidationError) as exc:
            raise ValidationError(f"the disclosed key does not open the delivered ciphertext: {exc}") from exc
        return sha256_file(plain) == expected
    finally:
        plain.unlink(missing_ok=True)


@dataclass(frozen=True)
class Assessment:
    """What the evidence of a disputed order shows before anything is sent (section IV.A.3): ``content_match``
    (the re-upload's SHA-256 is the dataset's content hash), ``similarity`` of f_{D',P} to the attested f_{D,P}
    in [0, 1], ``near_duplicate`` (the fingerprints match by the method's threshold), ``transmitted_ok`` (None:
    the buyer disclosed no key) and the ``ruling`` the evidence supports."""

    order_id: int
    content_match: bool
    similarity: float
    near_duplicate: bool
    transmitted_ok: bool | None
    ruling: Ruling

    @property
    def data_good(self) -> bool:
        return self.content_match and self.near_duplicate

    def why(self) -> str:
        """The reason for :attr:`ruling` in plain words."""
        if not self.content_match:
            return "the seller's re-uploaded data is not the dataset it published (its hash differs)"
        if not self.near_duplicate:
            return "the seller's data does not match the fingerprint the platform attested at publication"
        if self.transmitted_ok is False:
            return "the seller holds the right data but delivered something else"
        if self.transmitted_ok is None:
            return "the seller's data is the dataset it published; the buyer disclosed nothing that contradicts it"
        return "the seller's data is the dataset it published and it delivered that data"


def _ruling_of(content_match: bool, near: bool, transmitted_ok: bool | None) -> Ruling:
    if not (content_match and near):
        return Ruling.FOR_BUYER
    return Ruling.REDELIVERED if transmitted_ok is False else Ruling.FOR_SELLER


RULING_WORDS = {
    Ruling.FOR_SELLER: "for the seller",
    Ruling.REDELIVERED: "redelivered to the buyer",
    Ruling.FOR_BUYER: "for the buyer",
}
"""Each ruling in plain words."""


def _examine(
    contracts: Contracts,
    platform: Participant,
    attestor: NoveltyAttestor,
    board: SendReceiveBoard,
    order_id: int,
    reupload: Path,
    disclosed_key: bytes | None,
    *,
    expect: Ruling | None,
    make_copy: bool,
) -> tuple[Assessment, str | None]:
    """Decrypt and compare the evidence; with ``make_copy`` store ``E_PkB(D')`` when the data is good, after
    checking ``expect`` (``Conflict`` when the evidence supports another ruling: nothing is stored)."""
    order, listing, dataset = order_context(contracts, order_id)
    if order.state != OrderState.DISPUTED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
    registered = attestor.fingerprint_of(listing.token_id)
    if registered is None:
        raise NotFoundError(f"the platform attested no fingerprint for dataset {listing.token_id}")
    work = platform.paths.tmp
    work.mkdir(exist_ok=True)
    transmitted_ok = (
        None
        if disclosed_key is None
        else _transmitted_ok(platform, board, order_id, disclosed_key, work, dataset.content_hash)
    )
    plain, fd = _private_file(work, f"arbitration-{order_id}")
    buyer_copy: str | None = None
    try:
        try:
            with reupload.open("rb") as src, os.fdopen(fd, "wb") as dst:
                decrypt_stream(src, dst, platform.private_key)
        except Exception as exc:
            raise ValidationError(f"the re-upload is not data encrypted to the platform: {exc}") from exc
        content_match = sha256_file(plain) == dataset.content_hash
        score, near = _fingerprint_match(plain, registered)
        found = Assessment(
            order_id, content_match, score, near, transmitted_ok, _ruling_of(content_match, near, transmitted_ok)
        )
        if expect is not None and expect != found.ruling:
            raise Conflict(
                f"the evidence does not support a ruling {RULING_WORDS[expect]}: {found.why()}, so the ruling is "
                f"{RULING_WORDS[found.ruling]}"
            )
        if make_copy and found.data_good:
            cipher = work / f"arbitration-{order_id}-{secrets.token_hex(6)}.dge"
            try:
                encrypt_file(plain, cipher, {order.buyer: contracts.registry.public_key(order.buyer)})
                buyer_copy = board.store.put_file(cipher)
            finally:
                cipher.unlink(missing_ok=True)
    finally:
        plain.unlink(missing_ok=True)
    return found, buyer_copy


def assess(
    contracts: Contracts,
    platform: Participant,
    attestor: NoveltyAttestor,
    board: SendReceiveBoard,
    order_id: int,
    reupload: Path,
    *,
    disclosed_key: bytes | None = None,
) -> Assessment:
    """The comparisons :func:`arbitrate` makes and the ruling they support, without resolving anything on chain
    or storing a copy (the platform's desk shows it before the operator rules). Raises as :func:`arbitrate`."""
    found, _ = _examine(
        contracts, platform, attestor, board, order_id, reupload, disclosed_key, expect=None, make_copy=False
    )
    return found


def arbitrate(
    contracts: Contracts,
    platform: Participant,
    attestor: NoveltyAttestor,
    board: SendReceiveBoard,
    order_id: int,
    reupload: Path,
    *,
    disclosed_key: bytes | None = None,
    expect: Ruling | None = None,
) -> Resolution:
    """Section IV.A.3 on the platform's side. Decrypt the seller's re-upload ``E_PkP(D')`` and compare it with
    the dataset: its SHA-256 with the content hash in ``Catalog`` and its fingerprint f_{D',P} with f_{D,P}, the
    fingerprint attested at publication. A seller that registered a fake fingerprint fails the second test even
    with the real data; one that re-uploads data matching its fake fingerprint fails the first.

    When the buyer disclosed the data key of the delivered ciphertext (:func:`disclose_received_key`), the
    platform also decrypts what the seller actually sent. Rulings (``Market.resolve``):

    * data good, and the transmission good or not contested with a key → :attr:`Ruling.FOR_SELLER`: the buyer's
      fingerprint was wrong; sale completes, the buyer's collateral goes to the seller;
    * data good but the transmission was not the dataset → :attr:`Ruling.REDELIVERED`: the seller sent
      fabricated data but holds the real one; the platform delivers ``E_PkB(D')``, the sale completes, and the
      seller's collateral goes to the buyer;
    * data not good → :attr:`Ruling.FOR_BUYER`: refund, the seller's collateral goes to the buyer.

    ``expect``: the ruling the platform's operator chose; ``Conflict`` (nothing sent) when the evidence supports
    another one. For good data ``E_PkB(D')`` is stored in the platform's store for the buyer. Plaintexts live
    only in private temporary files, removed afterwards. Raises ``ValidationError`` (order not disputed,
    re-upload or key not readable by the platform, key not opening the delivery), ``NotFoundError`` (no attested
    fingerprint), ``TransactionReverted`` (e.g. dispute deadline passed)."""
    found, buyer_copy = _examine(
        contracts, platform, attestor, board, order_id, reupload, disclosed_key, expect=expect, make_copy=True
    )
    evidence = {
        "order_id": order_id,
        "section": "IV.A.3",
        "reupload_sha256": sha256_file(reupload).hex(),  # streamed: a re-upload may be large
        "content_match": found.content_match,
        "similarity": round(found.similarity, 4),
        "transmitted_ok": found.transmitted_ok,
        "ruling": found.ruling.name,
    }
    digest = evidence_hash(evidence)
    tx = contracts.market.resolve(platform.account, order_id, found.ruling, digest)
    return Resolution(
        order_id,
        found.ruling,
        found.content_match,
        found.similarity,
        found.transmitted_ok,
        digest,
        tx,
        buyer_copy,
        evidence,
    )


@dataclass(frozen=True)
class DeadlineAction:
    """What :func:`enforce_deadlines` did to one order: ``action`` is ``"refund"`` (not delivered, IV.A.4),
    ``"release"`` (not confirmed, IV.A.5), ``"unwind"`` (dispute not resolved) or ``"expire"`` (use-right)."""

    order_id: int
    action: str
    tx: TxResult


def enforce_deadlines(contracts: Contracts, caller: Participant, *, first_order: int = 1) -> list[DeadlineAction]:
    """The platform's periodic comparison of payments and deliveries (section IV.A.4-5): every order from
    ``first_order`` whose deadline passed is refunded, released, unwound or expired: the Market's orders, then
    UseRights' (ids above its offset). Orders another caller settled meanwhile are skipped. Returns what was
    done."""
    now = contracts.chain.now()
    done = []
    order_ids = list(range(first_order, contracts.market.order_count() + 1))
    if "UseRights" in contracts.addresses:
        last = USE_RIGHTS_ID_OFFSET + contracts.use_rights.order_count()
        order_ids += range(max(first_order, USE_RIGHTS_ID_OFFSET + 1), last + 1)
    for order_id in order_ids:
        order = contracts.market.order(order_id)
        if order.state.settled or now <= order.deadline:
            continue
        try:
            if order.is_use_right:
                done.append(DeadlineAction(order_id, "expire", contracts.use_rights.expire(caller.account, order_id)))
            elif order.state == OrderState.PAID:
                done.append(DeadlineAction(order_id, "refund", contracts.market.refund(caller.account, order_id)))
            elif order.state == OrderState.DELIVERED:
                done.append(DeadlineAction(order_id, "release", contracts.market.release(caller.account, order_id)))
            elif order.state == OrderState.DISPUTED:
                done.append(DeadlineAction(order_id, "unwind", contracts.market.refund(caller.account, order_id)))
        except TransactionReverted:
            continue  # settled by someone else between our read and our transaction
    return done
