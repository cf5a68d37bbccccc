"""Binding of ``Anchors.vy``: many records committed as one Merkle root per transaction (RFC 6962 / RFC 9162
hashing) and the on-chain inclusion check of one record."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.anchoring import AnchoredBatch
from datagora.domain.errors import ChainError, NotFoundError
from datagora.domain.models import TxResult


class AnchorsBinding(Binding):
    """Typed calls of the Anchors contract (through the ordinary write path; bulk anchoring uses
    :mod:`datagora.chain.fastpath` with :meth:`anchor_call`)."""

    NAME = "Anchors"

    def anchor(self, sender: LocalAccount, root: bytes, size: int, label: str) -> tuple[int, TxResult]:
        """Anchor a batch of ``size`` records by its 32-byte Merkle ``root``; the sender is a member of an Audited
        organisation. Returns the batch id and the transaction."""
        res = self._send(sender, "anchor", root, size, label)
        return int(next(e for e in res.events if e.name == "Anchored").args["batch_id"]), res

    def anchor_call(self, root: bytes, size: int, label: str) -> bytes:
        """The calldata of ``anchor(root, size, label)``, for the fast client path."""
        return bytes.fromhex(self._bind("anchor", root, size, label)._encode_transaction_data().removeprefix("0x"))

    def batch_id_of(self, logs: list[dict[str, Any]]) -> int:
        """The batch id in the ``Anchored`` event among raw JSON-RPC ``logs`` (of the fast path); raises
        :class:`ChainError` when there is none."""
        topic = "0x" + bytes(event_abi_to_log_topic(self.contract.events.Anchored().abi)).hex()
        for log in logs:
            topics = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log.get("topics", [])]
            if topics and topics[0].lower() == topic and str(log.get("address", "")).lower() == self.address.lower():
                return int(topics[1], 16)
        raise ChainError("the anchoring transaction logged no Anchored event")

    def batch(self, batch_id: int) -> AnchoredBatch:
        """The anchored batch; :class:`NotFoundError` when there is none."""
        root, size, anchored_at, organisation_id = self._view("batch", batch_id)
        if int(size) == 0:
            raise NotFoundError(f"no anchored batch {batch_id}")
        return AnchoredBatch(int(batch_id), bytes(root), int(size), int(anchored_at), int(organisation_id))

    def batch_count(self) -> int:
        """How many batches were anchored."""
        return int(self._view("batch_count"))

    def verify(self, batch_id: int, leaf_hash: bytes, index: int, path: list[bytes]) -> bool:
        """The contract's own check that ``leaf_hash`` is record ``index`` (from 0) of batch ``batch_id`` by the
        audit ``path`` (RFC 9162 section 2.1.3.2); False for an unknown batch or a wrong proof."""
        return bool(self._view("verify", batch_id, leaf_hash, index, list(path)))


DEPLOYABLE = Deployable(
    "Anchors",
    deployer="platform",
    needs=("Registry",),
    args=lambda addresses, options: (addresses["Registry"],),
    binding=AnchorsBinding,
)
