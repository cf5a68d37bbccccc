"""Applies a page of stored events to the projection tables, batching where it cannot change the result.

Handlers are written per event (:data:`~datagora.index.projections.base.Handler`): that is the reference meaning
of every projection. Run one by one, each event costs a few SQL statements, a few hundred microseconds; a page of
thousands of events needs statements that carry many rows. So some handlers also have a batch form
(:class:`~datagora.index.projections.base.Batched`) that applies many events of one type with one
``executemany`` or ``COPY`` per table, and names the rows each event touches (its keys).

The page is scheduled in levels, like a topological sort of the events' dependencies:

- an event with a batch form goes to the lowest level at or after every earlier event that touched one of its
  keys, and strictly after it when that event is of another type (same type: the batch form applies its run in
  chain order);
- an event without a batch form is a barrier: everything before it is applied, then it alone, then the rest.

Levels are applied in order, each as one batch per event type. Two events that share a key keep their chain
order; two that share none touch different rows, so their order cannot matter. All of it runs inside the sync's
SQL transaction, so a crash or a reorg rollback sees a page either whole or not at all, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from datagora.index.projections import PROJECTIONS, StoredEvent
from datagora.index.projections.base import Batched, Handler

_Kind = tuple[str, str]
"""(contract, event name)."""


@dataclass
class _Schedule:
    levels: list[dict[_Kind, list[StoredEvent]]] = field(default_factory=list)
    last: dict[Hashable, tuple[int, _Kind]] = field(default_factory=dict)

    def add(self, kind: _Kind, ev: StoredEvent, keys: Iterable[Hashable]) -> None:
        level = 0
        touched = list(keys)
        for key in touched:
            seen = self.last.get(key)
            if seen is not None:
                level = max(level, seen[0] + (seen[1] != kind))
        for key in touched:
            self.last[key] = (level, kind)
        while len(self.levels) <= level:
            self.levels.append({})
        self.levels[level].setdefault(kind, []).append(ev)


@dataclass
class Plan:
    """How to apply a page of events: ``steps`` in order, each a batch form with its run of events of one type
    or a per-event handler with its event. Made without the database (the indexer's fetch thread makes the next
    page's while the current one is written)."""

    steps: list[tuple[Callable[[Connection, Any], None], Any]] = field(default_factory=list)


def plan(evs: Iterable[StoredEvent], *, batch: bool = True) -> Plan:
    """The :class:`Plan` applying ``evs`` (in chain order) with their contracts' registered handlers; events
    without a handler are skipped. ``batch=False`` applies every event one by one with its per-event handler
    (the reference the batch forms are tested against)."""
    out = Plan()
    schedule = _Schedule()
    forms: dict[_Kind, tuple[Handler | None, Batched | None]] = {}

    def flush() -> None:
        nonlocal schedule
        for level in schedule.levels:
            for kind, group in level.items():
                batched = forms[kind][1]
                assert batched is not None
                out.steps.append((batched.apply, group))
        schedule = _Schedule()

    for ev in evs:
        kind = (ev.contract, ev.name)
        if kind not in forms:
            projection = PROJECTIONS.get(ev.contract)
            forms[kind] = (
                (None, None)
                if projection is None
                else (projection.handlers.get(ev.name), projection.batched.get(ev.name) if batch else None)
            )
        single, batched = forms[kind]
        if batched is not None:
            schedule.add(kind, ev, batched.keys(ev))
        elif single is not None:
            flush()
            out.steps.append((single, ev))
    flush()
    return out


def apply(conn: Connection, steps: Plan) -> int:
    """Run a :class:`Plan` inside the connection's transaction. Returns the number of handler calls (one per
    event type and level, plus one per event applied singly), which tests use to check that batching happens."""
    for handle, arg in steps.steps:
        handle(conn, arg)
    return len(steps.steps)


def project(conn: Connection, evs: Iterable[StoredEvent], *, batch: bool = True) -> int:
    """Apply ``evs`` (in chain order) to the projections: :func:`plan`, then :func:`apply`. Returns the number of
    handler calls."""
    return apply(conn, plan(evs, batch=batch))
