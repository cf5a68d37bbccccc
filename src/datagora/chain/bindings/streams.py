"""Binding of ``Streams.vy``: MultiChain-style streams of customer data items (Shrestha et al.): streams with
write permissions, items (stream, key, publisher, hash of the encrypted item, location) and erasure marks."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import NotFoundError
from datagora.domain.models import StreamItem, TxResult


class StreamsBinding(Binding):
    """Typed calls of the Streams contract."""

    NAME = "Streams"

    def create_stream(self, sender: LocalAccount, name: str) -> tuple[int, TxResult]:
        """Create a stream named ``name`` (unique) owned by the sender, an audited member. Returns its id."""
        res = self._send(sender, "create_stream", name)
        return int(next(e for e in res.events if e.name == "StreamCreated").args["stream_id"]), res

    def grant_write(self, sender: LocalAccount, stream_id: int, writer: str) -> TxResult:
        """The stream's owner lets ``writer`` publish to it."""
        return self._send(sender, "grant_write", stream_id, Web3.to_checksum_address(writer))

    def revoke_write(self, sender: LocalAccount, stream_id: int, writer: str) -> TxResult:
        """The stream's owner withdraws ``writer``'s permission to publish."""
        return self._send(sender, "revoke_write", stream_id, Web3.to_checksum_address(writer))

    def publish(
        self, sender: LocalAccount, stream_id: int, key: str, item_hash: bytes, location: str
    ) -> tuple[int, TxResult]:
        """Publish the 32-byte hash of an encrypted item kept at ``location`` (a URI) under ``key`` (a pseudonymous
        key, never personal data in clear). Returns the item id."""
        res = self._send(sender, "publish", stream_id, key, item_hash, location)
        return int(next(e for e in res.events if e.name == "ItemPublished").args["item_id"]), res

    def erase(self, sender: LocalAccount, item_id: int) -> TxResult:
        """Mark an item erased (its data key destroyed off-chain); the publisher or the stream's owner."""
        return self._send(sender, "erase", item_id)

    def item(self, item_id: int) -> StreamItem:
        """The stored item; :class:`NotFoundError` when there is none."""
        stream_id, publisher, item_hash, erased = self._view("item", item_id)
        if int(stream_id) == 0:
            raise NotFoundError(f"no stream item {item_id}")
        return StreamItem(int(item_id), int(stream_id), str(publisher), bytes(item_hash), bool(erased))

    def stream_id(self, name: str) -> int:
        """The id of the stream named ``name``, 0 when none."""
        return int(self._view("stream_of_name", name))

    def may_write(self, stream_id: int, account: str) -> bool:
        """Whether ``account`` may publish to the stream (its owner or a writer)."""
        return bool(self._view("may_write", stream_id, Web3.to_checksum_address(account)))


DEPLOYABLE = Deployable(
    "Streams",
    deployer="platform",
    needs=("Registry",),
    args=lambda addresses, options: (addresses["Registry"],),
    binding=StreamsBinding,
)
