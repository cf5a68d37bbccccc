"""Use rights sold per query (Wu et al., §II): the buyer's parameterised queries, the offer's W3C ODRL 2.2 usage
policy, and the owner-side DuckDB runner that enforces it."""

from __future__ import annotations

from datagora.query.policy import DATAGORA_NS, DATAGORA_PROFILE, ODRL_CONTEXT, UsagePolicy
from datagora.query.runner import JSONValue, QueryResult, QueryRunner
from datagora.query.spec import (
    AGGREGATE_FUNCTIONS,
    OPERATORS,
    Aggregate,
    ColumnRef,
    Condition,
    OrderKey,
    QuerySpec,
    SelectItem,
    Value,
)

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "DATAGORA_NS",
    "DATAGORA_PROFILE",
    "ODRL_CONTEXT",
    "OPERATORS",
    "Aggregate",
    "ColumnRef",
    "Condition",
    "JSONValue",
    "OrderKey",
    "QueryResult",
    "QueryRunner",
    "QuerySpec",
    "SelectItem",
    "UsagePolicy",
    "Value",
]
