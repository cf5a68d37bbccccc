"""The platform's side of delivery checks, disputes and deadlines (Wu et al. section III.A steps 22-24, section
IV.A.3-5), with the double-deposit outcomes of ``Market`` (Shrestha et al.).

* :func:`check_delivery` — step 22: compare the seller's f_S and the buyer's f_B on the send-receive board.
  Consistent: the buyer is told to confirm. Inconsistent: the platform disputes the order on chain.
* :func:`reupload_for_arbitration` (seller) and :func:`arbitrate` (platform) — section IV.A.3: the seller
  re-uploads the data encrypted to the platform, ``E_PkP(D')``; the platform fingerprints it (f_{D',P}) and
  compares it with the fingerprint it attested when the dataset was published (f_{D,P}). Consistent: the seller
  was honest, the platform hands ``E_PkB(D')`` to the buyer and resolves for the seller (the buyer's collateral
  goes to the seller). Inconsistent: the seller cheated (fake fingerprint or fabricated data), the order is
  refunded and the buyer receives the seller's collateral.
* :func:`enforce_deadlines` — sections IV.A.4-5: the platform's periodic job refunds undelivered orders after
  the delivery deadline, releases unconfirmed deliveries after the confirmation deadline, unwinds disputes
  nobody resolved, and closes expired use-rights.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import decrypt_stream, encrypt_file, encrypt_stream
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.errors import AccessDenied, NotFoundError, TransactionReverted, ValidationError
from datagora.domain.models import OrderState, TxResult
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
    told the transaction succeeded) or ``"dispute"`` (``tx`` is the dispute transaction)."""

    order_id: int
    consistent: bool | None
    similarity: float | None
    action: str
    tx: TxResult | None = None


@dataclass(frozen=True)
class Resolution:
    """The platform's ruling on a disputed order: ``seller_honest`` and why (``content_match``: the re-upload's
    SHA-256 is the dataset's content hash; ``similarity`` of f_{D',P} to f_{D,P}), ``evidence_hash`` committed
    on chain, the resolve transaction, and for an honest seller the buyer's copy ``E_PkB(D')`` (a blob in the
    platform's store, ``buyer_copy``)."""

    order_id: int
    seller_honest: bool
    content_match: bool
    similarity: float
    evidence_hash: bytes
    tx: TxResult
    buyer_copy: str | None


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
    reason = keccak256(json.dumps(evidence, sort_keys=True).encode())
    tx = contracts.dispute(platform.account, order_id, reason)
    return DeliveryCheck(order_id, False, view.similarity, "dispute", tx)


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
    platform_key = contracts.public_key(contracts.platform())
    plain_r, plain_w = os.pipe()
    errors: list[BaseException] = []

    def _producer() -> None:
        try:
            with seller.store.open(record["blob"]) as src, os.fdopen(plain_w, "wb") as sink:
                decrypt_stream(src, sink, seller.private_key)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    thread = threading.Thread(target=_producer, daemon=True)
    thread.start()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:
        with os.fdopen(plain_r, "rb") as plain, partial.open("wb") as dst:
            encrypt_stream(plain, dst, {contracts.platform(): platform_key})
        thread.join()
        if errors:
            raise errors[0]
        partial.replace(out)
    finally:
        thread.join()
        partial.unlink(missing_ok=True)
    return out


def arbitrate(
    contracts: Contracts,
    platform: Participant,
    attestor: NoveltyAttestor,
    board: SendReceiveBoard,
    order_id: int,
    reupload: Path,
) -> Resolution:
    """Section IV.A.3 on the platform's side: decrypt the seller's re-upload ``E_PkP(D')``, fingerprint it
    (f_{D',P}) and compare with f_{D,P}, the fingerprint attested at publication. The seller is honest when the
    re-upload is the dataset (same SHA-256 as the content hash in ``Catalog``) and its fingerprint is consistent
    with f_{D,P}: a seller that registered a fake fingerprint fails the second test even with the real data, one
    that re-uploads data matching its fake fingerprint fails the first. Then ``E_PkB(D')`` is stored for the
    buyer and the dispute resolved for the seller, else for the buyer. The plaintext lives only in a private
    temporary file, removed afterwards.

    Raises ``ValidationError`` (order not disputed, re-upload not readable by the platform),
    ``NotFoundError`` (no attested fingerprint), ``TransactionReverted`` (e.g. dispute deadline passed)."""
    order, listing, dataset = order_context(contracts, order_id)
    if order.state != OrderState.DISPUTED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
    registered = attestor.fingerprint_of(listing.token_id)
    if registered is None:
        raise NotFoundError(f"the platform attested no fingerprint for dataset {listing.token_id}")
    work = platform.home / "tmp"
    work.mkdir(exist_ok=True)
    plain = work / f"arbitration-{order_id}-{secrets.token_hex(6)}"
    buyer_copy: str | None = None
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with reupload.open("rb") as src, os.fdopen(fd, "wb") as dst:
                decrypt_stream(src, dst, platform.private_key)
        except Exception as exc:
            raise ValidationError(f"the re-upload is not data encrypted to the platform: {exc}") from exc
        content_match = sha256_file(plain) == dataset.content_hash
        # The platform does not know the file's name: the fingerprint generator detects the kind from content.
        try:
            observed = Fingerprint.from_bytes(fingerprint_of(plain))
            reference = Fingerprint.from_bytes(registered)
            score = float(similarity(observed, reference)) if observed.method == reference.method else 0.0
            near = observed.method == reference.method and is_near_duplicate(observed, reference)
        except ValidationError:
            score, near = 0.0, False
        honest = content_match and near
        if honest:
            cipher = work / f"arbitration-{order_id}-{secrets.token_hex(6)}.dge"
            try:
                encrypt_file(plain, cipher, {order.buyer: contracts.public_key(order.buyer)})
                buyer_copy = board.store.put_file(cipher)
            finally:
                cipher.unlink(missing_ok=True)
    finally:
        plain.unlink(missing_ok=True)
    evidence = {
        "order_id": order_id,
        "section": "IV.A.3",
        "reupload_sha256": sha256_file(reupload).hex(),  # streamed: a re-upload may be large
        "content_match": content_match,
        "similarity": round(score, 4),
        "seller_honest": honest,
    }
    evidence_hash = keccak256(json.dumps(evidence, sort_keys=True).encode())
    tx = contracts.resolve(platform.account, order_id, honest, evidence_hash)
    return Resolution(order_id, honest, content_match, score, evidence_hash, tx, buyer_copy)


@dataclass(frozen=True)
class DeadlineAction:
    """What :func:`enforce_deadlines` did to one order: ``action`` is ``"refund"`` (not delivered, IV.A.4),
    ``"release"`` (not confirmed, IV.A.5), ``"unwind"`` (dispute not resolved) or ``"expire"`` (use-right)."""

    order_id: int
    action: str
    tx: TxResult


def enforce_deadlines(contracts: Contracts, caller: Participant, *, first_order: int = 1) -> list[DeadlineAction]:
    """The platform's periodic comparison of payments and deliveries (section IV.A.4-5): every order from
    ``first_order`` whose deadline passed is refunded, released, unwound or expired. Orders another caller
    settled meanwhile are skipped. Returns what was done."""
    now = contracts.chain.now()
    done = []
    for order_id in range(first_order, contracts.order_count() + 1):
        order = contracts.order(order_id)
        if order.state.settled or now <= order.deadline:
            continue
        try:
            if order.is_use_right:
                done.append(DeadlineAction(order_id, "expire", contracts.expire(caller.account, order_id)))
            elif order.state == OrderState.PAID:
                done.append(DeadlineAction(order_id, "refund", contracts.refund(caller.account, order_id)))
            elif order.state == OrderState.DELIVERED:
                done.append(DeadlineAction(order_id, "release", contracts.release(caller.account, order_id)))
            elif order.state == OrderState.DISPUTED:
                done.append(DeadlineAction(order_id, "unwind", contracts.refund(caller.account, order_id)))
        except TransactionReverted:
            continue  # settled by someone else between our read and our transaction
    return done
