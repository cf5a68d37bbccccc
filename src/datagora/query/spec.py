"""Parameterised queries described as data: what a use-right buyer may ask the owner's node to run.

A :class:`QuerySpec` is never SQL text. It names columns, aggregate functions, filter operators and bound values;
the owner's :class:`~datagora.query.runner.QueryRunner` checks it against the table's real columns and the offer's
ODRL policy, then compiles it with quoted identifiers and bound parameters. Its canonical bytes and Keccak-256
hash identify the query in a "use right per query" order (Wu et al., §II: the buyer purchases the right to run
queries on data that never leaves the owner).

Wire form (``to_dict`` / ``from_dict``)::

    {
      "select":   [{"column": "region"},
                   {"aggregate": "count"},
                   {"aggregate": "sum", "column": "amount", "as": "total"}],
      "where":    [{"column": "age", "op": ">=", "value": 30},
                   {"column": "region", "op": "in", "value": ["north", "south"]},
                   {"column": "amount", "op": "between", "value": [10, 20]}],
      "group_by": ["region"],
      "order_by": [{"key": "total", "descending": true}],
      "limit":    10
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import ValidationError

AGGREGATE_FUNCTIONS: Final[tuple[str, ...]] = ("count", "count_distinct", "sum", "avg", "min", "max")
"""Aggregate functions a query may use; ``count`` without a column is ``count(*)``."""

OPERATORS: Final[tuple[str, ...]] = ("=", "!=", "<", "<=", ">", ">=", "in", "between", "like")
"""Filter operators. ``between`` is inclusive at both ends; ``like`` uses SQL ``%`` / ``_`` wildcards."""

MAX_SELECT: Final = 64
MAX_WHERE: Final = 64
MAX_GROUP_BY: Final = 16
MAX_IN_VALUES: Final = 1000
MAX_LIMIT: Final = 1_000_000
MAX_NAME_CHARS: Final = 256
MAX_STRING_CHARS: Final = 1024

Value: TypeAlias = str | int | float | bool
"""A bound filter value: a JSON scalar other than ``null``; floats must be finite."""

ConditionValue: TypeAlias = Value | tuple[Value, ...]
"""A scalar, or a tuple for ``in`` (1..1000 values) and ``between`` (exactly ``(low, high)``)."""


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"query: {what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_CHARS:
        raise ValidationError(f"query: {what} longer than {MAX_NAME_CHARS} characters")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
        raise ValidationError(f"query: {what} {value!r} contains control characters")
    return value


def _scalar(value: object, what: str) -> Value:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"query: {what} must be a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise ValidationError(f"query: {what} longer than {MAX_STRING_CHARS} characters")
        return value
    raise ValidationError(f"query: {what} must be a string, number or boolean, got {value!r}")


def _keys(doc: Mapping[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ValidationError(f"query: unknown key(s) {unknown} in {what}")
    missing = sorted(required - set(doc))
    if missing:
        raise ValidationError(f"query: {what} lacks {missing}")


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"query: {what} must be an object, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValidationError(f"query: {what} must be a list, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ColumnRef:
    """A plain column in the select list: ``"name" AS "alias"``. In an aggregate query it must be grouped by."""

    name: str
    alias: str | None = None

    def __post_init__(self) -> None:
        _name(self.name, "column name")
        if self.alias is not None:
            _name(self.alias, "alias")
            if self.alias == self.name:
                object.__setattr__(self, "alias", None)

    @property
    def output_name(self) -> str:
        """Name of this item's result column: the alias, else the column name."""
        return self.alias or self.name

    def to_dict(self) -> dict[str, str]:
        doc = {"column": self.name}
        if self.alias is not None:
            doc["as"] = self.alias
        return doc


@dataclass(frozen=True)
class Aggregate:
    """An aggregate in the select list: ``function(column)``; ``Aggregate("count")`` is ``count(*)``.

    ``function`` is one of :data:`AGGREGATE_FUNCTIONS`; every function but ``count`` needs a column. Default output
    name: ``"count(*)"`` or ``"function(column)"``. Raises :class:`ValidationError` otherwise.
    """

    function: str
    column: str | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        if self.function not in AGGREGATE_FUNCTIONS:
            raise ValidationError(f"query: unknown aggregate {self.function!r}; use one of {list(AGGREGATE_FUNCTIONS)}")
        if self.column is None:
            if self.function != "count":
                raise ValidationError(f"query: aggregate {self.function!r} needs a column")
        else:
            _name(self.column, "column name")
        if self.alias is not None:
            _name(self.alias, "alias")
            if self.alias == self.default_name:
                object.__setattr__(self, "alias", None)

    @property
    def default_name(self) -> str:
        return f"{self.function}({self.column if self.column is not None else '*'})"

    @property
    def output_name(self) -> str:
        """Name of this item's result column: the alias, else ``function(column)``."""
        return self.alias or self.default_name

    def to_dict(self) -> dict[str, str]:
        doc = {"aggregate": self.function}
        if self.column is not None:
            doc["column"] = self.column
        if self.alias is not None:
            doc["as"] = self.alias
        return doc


SelectItem: TypeAlias = ColumnRef | Aggregate


@dataclass(frozen=True)
class Condition:
    """One filter ``column op value``; all conditions of a query are AND-ed.

    SQL semantics: a row whose ``column`` is NULL matches no condition, not even ``!=``. Raises
    :class:`ValidationError` on an unknown operator or a value of the wrong shape for it.
    """

    column: str
    op: str
    value: ConditionValue

    def __post_init__(self) -> None:
        _name(self.column, "column name")
        if self.op not in OPERATORS:
            raise ValidationError(f"query: unknown operator {self.op!r}; use one of {list(OPERATORS)}")
        what = f"value for {self.column!r} {self.op}"
        if self.op in ("in", "between"):
            items = tuple(_scalar(v, what) for v in _list(self.value, what))
            if self.op == "between" and len(items) != 2:
                raise ValidationError(f"query: {what} must be [low, high]")
            if self.op == "in" and not 1 <= len(items) <= MAX_IN_VALUES:
                raise ValidationError(f"query: {what} must hold 1 to {MAX_IN_VALUES} values")
            object.__setattr__(self, "value", items)
        else:
            scalar = _scalar(self.value, what)
            if self.op == "like" and not isinstance(scalar, str):
                raise ValidationError(f"query: {what} must be a string pattern")
            object.__setattr__(self, "value", scalar)

    @property
    def values(self) -> tuple[Value, ...]:
        """The bound values in order: one, two for ``between``, all for ``in``."""
        return self.value if isinstance(self.value, tuple) else (self.value,)

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"column": self.column, "op": self.op, "value": value}


@dataclass(frozen=True)
class OrderKey:
    """Sort by the result column ``key`` (an output name of the select list)."""

    key: str
    descending: bool = False

    def __post_init__(self) -> None:
        _name(self.key, "order key")
        if not isinstance(self.descending, bool):
            raise ValidationError("query: order 'descending' must be a boolean")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "descending": self.descending}


@dataclass(frozen=True)
class QuerySpec:
    """A parameterised aggregate or filtered SELECT over the owner's table (Wu et al., §II "use right").

    - ``select``: 1..64 :class:`ColumnRef` / :class:`Aggregate` items with unique output names.
    - ``where``: up to 64 :class:`Condition`, AND-ed.
    - ``group_by``: up to 16 column names. A query with aggregates or ``group_by`` is an *aggregate query*
      (subject to the policy's minimum group size); one with neither returns *raw rows*.
    - ``order_by``: keys naming output columns; ties are broken by all output columns so results are deterministic.
    - ``limit``: 1..1,000,000 rows, or ``None``; the policy's row cap applies on top.

    Raises :class:`ValidationError` on any malformed part. Checks against a real table happen in the runner.
    """

    select: tuple[SelectItem, ...]
    where: tuple[Condition, ...] = ()
    group_by: tuple[str, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        for attr in ("select", "where", "group_by", "order_by"):
            object.__setattr__(self, attr, tuple(_list(getattr(self, attr), attr)))
        if not 1 <= len(self.select) <= MAX_SELECT:
            raise ValidationError(f"query: select must hold 1 to {MAX_SELECT} items")
        if not all(isinstance(item, ColumnRef | Aggregate) for item in self.select):
            raise ValidationError("query: select items must be ColumnRef or Aggregate")
        if len(self.where) > MAX_WHERE:
            raise ValidationError(f"query: at most {MAX_WHERE} where conditions")
        if not all(isinstance(cond, Condition) for cond in self.where):
            raise ValidationError("query: where items must be Condition")
        if len(self.group_by) > MAX_GROUP_BY:
            raise ValidationError(f"query: at most {MAX_GROUP_BY} group_by columns")
        for name in self.group_by:
            _name(name, "group_by column")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValidationError("query: duplicate group_by column")
        outputs = self.output_names
        if len(set(outputs)) != len(outputs):
            dupes = sorted({n for n in outputs if outputs.count(n) > 1})
            raise ValidationError(f"query: duplicate output name(s) {dupes}; give an alias with 'as'")
        for order in self.order_by:
            if not isinstance(order, OrderKey):
                raise ValidationError("query: order_by items must be OrderKey")
            if order.key not in outputs:
                raise ValidationError(f"query: order key {order.key!r} is not an output column {list(outputs)}")
        if self.limit is not None and (
            isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT
        ):
            raise ValidationError(f"query: limit must be an integer from 1 to {MAX_LIMIT}, got {self.limit!r}")
        if self.is_aggregate:
            for item in self.select:
                if isinstance(item, ColumnRef) and item.name not in self.group_by:
                    raise ValidationError(f"query: column {item.name!r} must be in group_by when aggregating")

    @property
    def output_names(self) -> tuple[str, ...]:
        """Result column names, in select order."""
        return tuple(item.output_name for item in self.select)

    @property
    def aggregates(self) -> tuple[Aggregate, ...]:
        return tuple(item for item in self.select if isinstance(item, Aggregate))

    @property
    def is_aggregate(self) -> bool:
        """True when the query aggregates (has an aggregate or a group_by); False for a raw-row query."""
        return bool(self.group_by) or any(isinstance(item, Aggregate) for item in self.select)

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        """Every table column the query reads (select, where, group_by), first occurrence order."""
        names: list[str] = []
        for item in self.select:
            column = item.name if isinstance(item, ColumnRef) else item.column
            if column is not None:
                names.append(column)
        names.extend(cond.column for cond in self.where)
        names.extend(self.group_by)
        return tuple(dict.fromkeys(names))

    # --- wire form -------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> QuerySpec:
        """Parse the wire form (see module docstring). Conveniences: a select item may be a bare column name, a
        condition a ``[column, op, value]`` triple, an order key a bare output name (ascending).

        Raises :class:`ValidationError` on unknown keys or malformed parts.
        """
        doc = _mapping(doc, "query")
        _keys(doc, {"select", "where", "group_by", "order_by", "limit"}, {"select"}, "query")
        return cls(
            select=tuple(_select_item(item) for item in _list(doc["select"], "select")),
            where=tuple(_condition(item) for item in _list(doc.get("where", []), "where")),
            group_by=tuple(_name(name, "group_by column") for name in _list(doc.get("group_by", []), "group_by")),
            order_by=tuple(_order_key(item) for item in _list(doc.get("order_by", []), "order_by")),
            limit=doc.get("limit"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical wire form: every key present, aliases only where they differ from the default name."""
        return {
            "select": [item.to_dict() for item in self.select],
            "where": [cond.to_dict() for cond in self.where],
            "group_by": list(self.group_by),
            "order_by": [order.to_dict() for order in self.order_by],
            "limit": self.limit,
        }

    def canonical_bytes(self) -> bytes:
        """Canonical JSON (:func:`datagora.domain.canonical.canonical_json`) of :meth:`to_dict`."""
        return canonical_json(self.to_dict())

    def query_hash(self) -> bytes:
        """Keccak-256 (32 bytes) of :meth:`canonical_bytes`: the query's on-chain commitment."""
        return keccak256(self.canonical_bytes())


def _select_item(item: object) -> SelectItem:
    if isinstance(item, str):
        return ColumnRef(item)
    doc = _mapping(item, "select item")
    if "aggregate" in doc:
        _keys(doc, {"aggregate", "column", "as"}, {"aggregate"}, "select item")
        return Aggregate(doc["aggregate"], doc.get("column"), doc.get("as"))
    _keys(doc, {"column", "as"}, {"column"}, "select item")
    return ColumnRef(doc["column"], doc.get("as"))


def _condition(item: object) -> Condition:
    if isinstance(item, list | tuple):
        if len(item) != 3:
            raise ValidationError(f"query: condition must be [column, op, value], got {item!r}")
        return Condition(item[0], item[1], item[2])
    doc = _mapping(item, "condition")
    _keys(doc, {"column", "op", "value"}, {"column", "op", "value"}, "condition")
    return Condition(doc["column"], doc["op"], doc["value"])


def _order_key(item: object) -> OrderKey:
    if isinstance(item, str):
        return OrderKey(item)
    doc = _mapping(item, "order key")
    _keys(doc, {"key", "descending"}, {"key"}, "order key")
    return OrderKey(doc["key"], doc.get("descending", False))


__all__ = [
    "AGGREGATE_FUNCTIONS",
    "OPERATORS",
    "Aggregate",
    "ColumnRef",
    "Condition",
    "ConditionValue",
    "OrderKey",
    "QuerySpec",
    "SelectItem",
    "Value",
    "canonical_json",
]
