"""Anchors events in the index: kept in the ``events`` table only. A batch is read by id from the contract
(root, size, time, organisation) and each record's proof lives in the anchoring node's own store; no table needs
more than the event (which batches an organisation anchored is a query on the events' indexed arguments)."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection("Anchors", handlers={}, ignored=frozenset({"Anchored"}))
