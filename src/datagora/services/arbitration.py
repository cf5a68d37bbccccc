"""The platform's evidence for disputes received over HTTP (Wu et al. section IV.A.3), kept next to its relay.

A disputed order is arbitrated on the platform's node from two pieces of evidence that reach it over the API:

- the seller's re-upload ``E_PkP(D')`` (``PUT /relay/{order_id}/reupload``): its copy of the dataset encrypted to
  the platform (:func:`datagora.services.disputes.reupload_for_arbitration`);
- optionally the buyer's disclosure ``E_PkP(k)`` (``POST /relay/{order_id}/disclosure``): the data key of the
  ciphertext it received, encrypted to the platform (:func:`datagora.services.disputes.disclose_received_key`).

:class:`ArbitrationInbox` keeps them under ``<platform home>/arbitration/`` (``order-<id>.dge`` and a JSON record
``order-<id>.json``, :class:`~datagora.storage.evidence.EvidenceFiles`), refusing anything the arbitration could not
use *before* it is stored: a re-upload from anyone but the order's seller, for an order not disputed, or not
readable by the platform; a disclosure from anyone but the order's buyer, not encrypted to the platform, or whose
key does not open the ciphertext the platform relayed. :func:`arbitrate_stored` then runs
:func:`~datagora.services.disputes.arbitrate` on what is stored and records the buyer's copy ``E_PkB(D')``, which
the buyer downloads from ``GET /disputes/{order_id}/copy``.

The API and the ``datagora arbitrate`` command (in process, against the platform's home) share this module.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagora.crypto.ecies import decrypt_with
from datagora.crypto.envelope import data_key_of, decrypt_stream_with_data_key
from datagora.crypto.hashing import sha256_file
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied, Conflict, CryptoError, NotFoundError, ValidationError
from datagora.domain.models import Order, OrderState, Ruling
from datagora.services import disputes
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.relay import SendReceiveBoard
from datagora.storage.evidence import EvidenceFiles

DATA_KEY_BYTES = 32
"""An envelope's AES-256 data key."""


@dataclass(frozen=True)
class Reupload:
    """The seller's re-upload held for ``order_id``: ``sha256`` (hex) and ``size`` (bytes) of ``E_PkP(D')``, who
    uploaded it and when (Unix seconds)."""

    order_id: int
    sha256: str
    size: int
    uploaded_by: str
    uploaded_at: int


@dataclass(frozen=True)
class Disclosure:
    """The buyer's disclosed data key ``E_PkP(k)`` for ``order_id``, who posted it and when (Unix seconds)."""

    order_id: int
    encrypted_key: bytes
    disclosed_by: str
    disclosed_at: int


class ArbitrationInbox:
    """Re-uploads and disclosures of disputed orders, under ``root`` (a directory of the platform's home). The
    chain and the relayed ciphertexts come from ``board``; ``platform_key`` is the platform's private key (to check
    that evidence is readable by it); ``clock`` gives Unix seconds. Thread-safe within one process."""

    def __init__(
        self,
        board: SendReceiveBoard,
        root: Path,
        platform_key: bytes,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.board = board
        self.files = EvidenceFiles(root)
        self.root = self.files.root
        self.platform_key = platform_key
        self.clock = clock

    @classmethod
    def of_platform(cls, board: SendReceiveBoard, platform: Participant) -> ArbitrationInbox:
        """The inbox the platform's node keeps at ``<participant home>/arbitration``."""
        return cls(board, platform.paths.arbitration, platform.private_key, clock=board.clock)

    # -- records -----------------------------------------------------------------------------------------------

    def _record(self, order: Order) -> dict[str, Any]:
        """The record of ``order``'s dispute: empty when none, or when it was kept for another delivery under the
        same order id (a chain reset); evidence belongs to the delivery hash it was given for."""
        doc = self.files.read(order.id)
        return doc if doc.get("delivery_hash") == order.delivery_hash.hex() else {}

    def _update(self, order: Order, **fields: Any) -> None:
        with self.files.editing(order.id) as doc:
            if doc.get("delivery_hash") != order.delivery_hash.hex():
                doc.clear()
            doc.update(fields, delivery_hash=order.delivery_hash.hex())

    def _disputed(self, order_id: int, who: str, role: str) -> Order:
        """The order, when ``who`` is its ``role`` (``seller`` or ``buyer``) and it is disputed on chain."""
        order = self.board.contracts.market.order(order_id)
        party = order.buyer if role == "buyer" else self.board.contracts.market.listing(order.listing_id).seller
        if party.lower() != who.lower():
            raise AccessDenied(f"only the {role} of order {order_id} may do this; you are {who}")
        if order.state != OrderState.DISPUTED:
            raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
        return order

    # -- the seller's re-upload --------------------------------------------------------------------------------

    def check_reuploader(self, order_id: int, uploader: str) -> Order:
        """Refuse a re-upload before any byte is read: ``uploader`` must be the order's seller
        (``AccessDenied``) and the order disputed (``ValidationError``); ``NotFoundError`` for an unknown order."""
        return self._disputed(order_id, uploader, "seller")

    def staging_file(self) -> Path:
        """A fresh path for a re-upload in progress (the caller removes it), on the same file system as the
        inbox."""
        return self.board.staging_file()

    def accept_reupload(self, order_id: int, staged: Path, uploader: str) -> Reupload:
        """Keep the file ``staged`` as the re-upload of ``order_id`` (replacing an earlier one): checked again
        against the order, and its envelope must carry a data key the platform can unwrap (``ValidationError``
        otherwise; nothing is stored). The file is moved, not copied."""
        order = self.check_reuploader(order_id, uploader)
        try:
            with staged.open("rb") as fh:
                data_key_of(fh, self.platform_key)
        except (CryptoError, ValidationError) as exc:
            raise ValidationError(f"the re-upload is not data encrypted to the platform (E_PkP(D')): {exc}") from exc
        digest, size = sha256_file(staged).hex(), staged.stat().st_size
        self.files.keep_ciphertext(order_id, staged)
        held = Reupload(order_id, digest, size, checksum_address(uploader), int(self.clock()))
        self._update(
            order,
            reupload={"sha256": digest, "size": size, "uploaded_by": held.uploaded_by, "uploaded_at": held.uploaded_at},
        )
        return held

    def reupload(self, order_id: int) -> tuple[Path, Reupload] | None:
        """The stored re-upload of ``order_id`` and its record, or None."""
        doc = self._record(self.board.contracts.market.order(order_id)).get("reupload")
        path = self.files.ciphertext(order_id)
        if doc is None or path is None:
            return None
        return path, Reupload(order_id, doc["sha256"], doc["size"], doc["uploaded_by"], doc["uploaded_at"])

    # -- the buyer's disclosure --------------------------------------------------------------------------------

    def record_disclosure(self, order_id: int, encrypted_key: bytes, poster: str) -> Disclosure:
        """Keep the buyer's ``E_PkP(k)`` for ``order_id``. Checks: ``poster`` is the order's buyer
        (``AccessDenied``), the order is disputed, the key decrypts with the platform's key to a 32-byte data key,
        and that key opens the ciphertext the platform relayed for the order (``ValidationError``; a disclosure
        is checked against the relayed delivery, so ``NotFoundError`` when the platform relayed none)."""
        order = self._disputed(order_id, poster, "buyer")
        try:
            key = decrypt_with(self.platform_key, encrypted_key)
        except (CryptoError, ValidationError) as exc:
            raise ValidationError(f"the disclosed key is not encrypted to the platform: {exc}") from exc
        if len(key) != DATA_KEY_BYTES:
            raise ValidationError(f"a disclosed data key is {DATA_KEY_BYTES} bytes, got {len(key)}")
        relayed = self.board.relayed(order_id)
        if relayed is None or relayed.blob != order.delivery_hash.hex():
            raise NotFoundError(f"the platform relayed no delivery for order {order_id} to check the key against")
        try:
            with self.board.store.open(relayed.blob) as src, open(os.devnull, "wb") as sink:
                decrypt_stream_with_data_key(src, sink, key)
        except (CryptoError, ValidationError) as exc:
            raise ValidationError(f"the disclosed key does not open the delivered ciphertext: {exc}") from exc
        held = Disclosure(order_id, bytes(encrypted_key), checksum_address(poster), int(self.clock()))
        self._update(
            order,
            disclosure={
                "encrypted_key": held.encrypted_key.hex(),
                "disclosed_by": held.disclosed_by,
                "disclosed_at": held.disclosed_at,
            },
        )
        return held

    def disclosure(self, order_id: int) -> Disclosure | None:
        """The buyer's disclosure for ``order_id``, or None."""
        doc = self._record(self.board.contracts.market.order(order_id)).get("disclosure")
        if doc is None:
            return None
        return Disclosure(order_id, bytes.fromhex(doc["encrypted_key"]), doc["disclosed_by"], doc["disclosed_at"])

    # -- retention -------------------------------------------------------------------------------------------

    def sweep(self) -> list[int]:
        """Delete the evidence data of every dispute whose order is settled and whose dispute window has passed
        (:meth:`SendReceiveBoard.retention_over`): the seller's re-upload ``E_PkP(D')`` and the buyer's copy
        ``E_PkB(D')`` the ruling made. The JSON record (hashes, who, when, the ruling's inputs) stays, with
        ``purged_at``. Returns the orders swept."""
        swept = []
        for record in sorted(self.files.root.glob("order-*.json")):
            try:
                order_id = int(record.stem.removeprefix("order-"))
            except ValueError:
                continue
            ciphertext = self.files.ciphertext(order_id)
            doc = self.files.read(order_id)
            copy = doc.get("buyer_copy")
            if (ciphertext is None and not copy) or not self.board.retention_over(order_id):
                continue
            if ciphertext is not None:
                ciphertext.unlink(missing_ok=True)
            if copy and self.board.store.has(str(copy)):
                self.board.store.delete(str(copy))
            with self.files.editing(order_id) as fields:
                fields.pop("buyer_copy", None)
                fields["purged_at"] = int(self.clock())
            swept.append(order_id)
        return swept

    # -- the ruling --------------------------------------------------------------------------------------------

    def record_copy(self, order_id: int, blob: str | None) -> None:
        """Remember the buyer's copy ``E_PkB(D')`` (a blob of the platform's store) made by the arbitration."""
        self._update(self.board.contracts.market.order(order_id), buyer_copy=blob)

    def buyer_copy(self, order_id: int) -> str | None:
        """The blob address of the buyer's copy of ``order_id``, or None."""
        blob = self._record(self.board.contracts.market.order(order_id)).get("buyer_copy")
        return None if blob is None else str(blob)


def arbitrate_stored(
    platform: Participant,
    attestor: NoveltyAttestor,
    inbox: ArbitrationInbox,
    order_id: int,
    *,
    expect: Ruling | None = None,
) -> disputes.Resolution:
    """Arbitrate the disputed ``order_id`` (:func:`datagora.services.disputes.arbitrate`) with the re-upload and
    the disclosure held in ``inbox``, and record the buyer's copy. ``expect``: the ruling the operator chose
    (``Conflict`` when the evidence supports another). Raises ``NotFoundError`` (unknown order),
    ``ValidationError`` (not disputed), ``Conflict`` (HTTP 409) when the seller has not re-uploaded yet, and
    whatever the arbitration raises."""
    held, disclosure = _evidence(inbox, order_id)
    resolution = disputes.arbitrate(
        inbox.board.contracts,
        platform,
        attestor,
        inbox.board,
        order_id,
        held[0],
        disclosed_key=None if disclosure is None else disclosure.encrypted_key,
        expect=expect,
    )
    inbox.record_copy(order_id, resolution.buyer_copy)
    return resolution


def _evidence(inbox: ArbitrationInbox, order_id: int) -> tuple[tuple[Path, Reupload], Disclosure | None]:
    """The re-upload (``Conflict`` when none) and the disclosure held for the disputed ``order_id``."""
    order = inbox.board.contracts.market.order(order_id)
    if order.state != OrderState.DISPUTED:
        raise ValidationError(f"order {order_id} is {order.state.name.lower()}, not disputed")
    held = inbox.reupload(order_id)
    if held is None:
        raise Conflict(
            f"the seller of order {order_id} has not re-uploaded its data (PUT /relay/{order_id}/reupload, "
            "`datagora reupload`)"
        )
    return held, inbox.disclosure(order_id)


def assess_stored(
    platform: Participant, attestor: NoveltyAttestor, inbox: ArbitrationInbox, order_id: int
) -> disputes.Assessment:
    """What the held evidence of ``order_id`` shows and the ruling it supports
    (:func:`datagora.services.disputes.assess`), remembered with the evidence it was made from so that a page
    shown again does not decrypt the re-upload again. Raises as :func:`arbitrate_stored`, nothing on chain."""
    held, disclosure = _evidence(inbox, order_id)
    basis = {"reupload": held[1].sha256, "disclosure": None if disclosure is None else disclosure.disclosed_at}
    order = inbox.board.contracts.market.order(order_id)
    cached = inbox._record(order).get("assessment")
    # The ruling is remembered by name: a number written before the rulings became flags is not read back.
    if isinstance(cached, dict) and cached.get("basis") == basis and str(cached.get("ruling")) in Ruling.__members__:
        return disputes.Assessment(
            order_id,
            bool(cached["content_match"]),
            float(cached["similarity"]),
            bool(cached["near_duplicate"]),
            cached["transmitted_ok"],
            Ruling[str(cached["ruling"])],
        )
    found = disputes.assess(
        inbox.board.contracts,
        platform,
        attestor,
        inbox.board,
        order_id,
        held[0],
        disclosed_key=None if disclosure is None else disclosure.encrypted_key,
    )
    inbox._update(
        order,
        assessment={
            "basis": basis,
            "content_match": found.content_match,
            "similarity": found.similarity,
            "near_duplicate": found.near_duplicate,
            "transmitted_ok": found.transmitted_ok,
            "ruling": found.ruling.name,
        },
    )
    return found
