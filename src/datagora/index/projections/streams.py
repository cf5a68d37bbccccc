"""Streams events in the index: kept in the ``events`` table (subscribers find items by stream and key there, the
key hash being indexed on chain); a table of items by key comes with the shop node."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "Streams",
    handlers={},
    ignored=frozenset({"StreamCreated", "WriterGranted", "WriterRevoked", "ItemPublished", "ItemErased"}),
)
