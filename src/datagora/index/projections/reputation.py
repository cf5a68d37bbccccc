"""Reputation events in the index: ratings are summed by the contract itself (``totals``), so ``Rated`` stays in
the ``events`` table only (the audit trail reads it there)."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection("Reputation", handlers={}, ignored=frozenset({"Rated"}))
