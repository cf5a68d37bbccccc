"""Usage policy of a use-right offer, as a W3C ODRL 2.2 ``Offer`` in JSON-LD.

Source: W3C ODRL Information Model 2.2 (https://www.w3.org/TR/odrl-model/) and ODRL Vocabulary & Expression 2.2
(https://www.w3.org/TR/odrl-vocab/); the offer is Wu et al.'s "sale of use right" (§II): the buyer prepays a
number of queries over data that stays on the owner's node, and the node refuses queries outside these terms.

Canonical form written by :meth:`UsagePolicy.to_jsonld`::

    {
      "@context": ["http://www.w3.org/ns/odrl.jsonld", {"datagora": "urn:datagora:odrl:"}],
      "@type": "Offer",
      "uid": "urn:datagora:policy:sales-2024",
      "profile": "urn:datagora:odrl:profile:query-use-right",
      "assigner": "did:pkh:eip155:1:0xOwner…",
      "target": "urn:datagora:dataset:7",
      "conflict": "prohibit",
      "permission": [{
        "action": "use",
        "constraint": [
          {"leftOperand": "datagora:aggregateFunction", "operator": "isAnyOf", "rightOperand": ["avg", "count"]},
          {"leftOperand": "datagora:groupSize", "operator": "gteq", "rightOperand": 5},
          {"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": ["age", "region"]},
          {"leftOperand": "datagora:resultRows", "operator": "lteq", "rightOperand": 1000},
          {"leftOperand": "count", "operator": "lteq", "rightOperand": 100},
          {"leftOperand": "datagora:answerForm", "operator": "eq",
           "rightOperand": {"@id": "datagora:differentialPrivacy"}},
          {"leftOperand": "datagora:epsilonPerQuery", "operator": "lteq", "rightOperand": 1.0},
          {"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": 10.0},
          {"leftOperand": "datagora:valueRange", "operator": "isAnyOf", "rightOperand": ["age [18, 80]"]}
        ]
      }],
      "prohibition": [
        {"action": "use", "constraint": [{"leftOperand": "datagora:resultForm", "operator": "eq",
                                          "rightOperand": {"@id": "datagora:rawRows"}}]},
        {"action": "use", "constraint": [{"leftOperand": "datagora:column", "operator": "isAnyOf",
                                          "rightOperand": ["ssn"]}]}
      ]
    }

Left operands: ``count`` is ODRL's own (number of executions of the action: the prepaid queries; the node's order
accounting enforces it, not the runner). ODRL defines none for columns, aggregate functions, group sizes or result
sizes, so those are ``datagora:`` terms of the profile named in ``profile``:

- ``datagora:aggregateFunction isAnyOf [...]``: aggregate functions a query may use (absent: all).
- ``datagora:groupSize gteq k``: with exact answers, every returned aggregate covers at least ``k`` rows and
  smaller groups are left out (small-cell suppression: it does not stop differencing attacks). Under
  differential privacy, groups whose *noisy* count is under ``k`` (or under the threshold that keeps the group
  list private, if higher) are left out. Absent: 1.
- ``datagora:column isAnyOf [...]``: in a permission, the only columns a query may read (absent: all); in a
  prohibition, columns no query may read. Prohibitions win (``conflict: prohibit``).
- ``datagora:resultRows lteq n``: at most ``n`` rows per result (absent: no cap).
- prohibition ``datagora:resultForm eq datagora:rawRows``: only aggregate queries (absent: raw rows allowed).
- ``datagora:answerForm eq datagora:differentialPrivacy`` (the default when absent) or ``eq datagora:exactAnswers``
  (the owner's explicit opt-out): whether answers carry calibrated noise (Dwork & Roth, "The Algorithmic
  Foundations of Differential Privacy", 2014) or are exact.
- ``datagora:epsilonPerQuery lteq e``: the privacy loss (epsilon) each answer spends (absent: 1.0).
- ``datagora:privacyBudget lteq B``: the total epsilon one buyer organisation may spend on the dataset, across
  all its orders (absent: 10.0). The owner's node keeps the ledger and refuses the query that would exceed it.
- ``datagora:valueRange isAnyOf ["bmi [18, 43]", ...]``: per column, the bounds sums and averages clamp values
  to; they fix each person's largest contribution (the sensitivity). A sum or average over a column without one
  is refused under differential privacy.

Column names are compared case-insensitively, as DuckDB resolves identifiers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import ValidationError
from datagora.query.spec import AGGREGATE_FUNCTIONS

ODRL_CONTEXT: Final = "http://www.w3.org/ns/odrl.jsonld"
ODRL_NS: Final = "http://www.w3.org/ns/odrl/2/"
DATAGORA_NS: Final = "urn:datagora:odrl:"
DATAGORA_PROFILE: Final = "urn:datagora:odrl:profile:query-use-right"

_COUNT: Final = ODRL_NS + "count"
_AGGREGATE: Final = DATAGORA_NS + "aggregateFunction"
_GROUP_SIZE: Final = DATAGORA_NS + "groupSize"
_RESULT_ROWS: Final = DATAGORA_NS + "resultRows"
_COLUMN: Final = DATAGORA_NS + "column"
_RESULT_FORM: Final = DATAGORA_NS + "resultForm"
_RAW_ROWS: Final = DATAGORA_NS + "rawRows"
_USE: Final = ODRL_NS + "use"
_ANSWER_FORM: Final = DATAGORA_NS + "answerForm"
_DIFFERENTIAL_PRIVACY: Final = DATAGORA_NS + "differentialPrivacy"
_EXACT_ANSWERS: Final = DATAGORA_NS + "exactAnswers"
_EPSILON: Final = DATAGORA_NS + "epsilonPerQuery"
_BUDGET: Final = DATAGORA_NS + "privacyBudget"
_VALUE_RANGE: Final = DATAGORA_NS + "valueRange"

DEFAULT_EPSILON_PER_QUERY: Final = 1.0
"""Privacy loss (epsilon) each differentially private answer spends unless the policy says otherwise."""
DEFAULT_PRIVACY_BUDGET: Final = 10.0
"""Total epsilon one buyer organisation may spend on a dataset unless the policy says otherwise."""
MAX_EPSILON: Final = 100.0
_RANGE_RE: Final = re.compile(r"^\s*(?P<column>.+?)\s*\[\s*(?P<low>[^,\]]+?)\s*,\s*(?P<high>[^,\]]+?)\s*\]\s*$")

_INTEGER_TYPES: Final = frozenset(
    f"{prefix}{name}"
    for prefix in ("xsd:", "http://www.w3.org/2001/XMLSchema#")
    for name in ("integer", "int", "long", "nonNegativeInteger", "positiveInteger")
)
_DECIMAL_TYPES: Final = frozenset(
    f"{prefix}{name}"
    for prefix in ("xsd:", "http://www.w3.org/2001/XMLSchema#")
    for name in ("decimal", "double", "float")
)
_POLICY_KEYS: Final = frozenset(
    {
        "@context",
        "@type",
        "type",
        "uid",
        "@id",
        "profile",
        "assigner",
        "target",
        "conflict",
        "permission",
        "prohibition",
    }
)
_RULE_KEYS: Final = frozenset({"action", "constraint", "target", "assigner"})
_CONSTRAINT_KEYS: Final = frozenset({"leftOperand", "operator", "rightOperand", "@type"})


def _fail(message: str) -> ValidationError:
    return ValidationError(f"policy: {message}")


def _expand(term: object, what: str) -> str:
    """Expand an ODRL JSON-LD term (``use``, ``odrl:use``, ``datagora:groupSize``, a full IRI, ``{"@id": …}``)."""
    if isinstance(term, Mapping):
        if set(term) != {"@id"}:
            raise _fail(f"{what} must be a term or {{'@id': ...}}, got {term!r}")
        term = term["@id"]
    if not isinstance(term, str) or not term:
        raise _fail(f"{what} must be a non-empty string, got {term!r}")
    if term.startswith("odrl:"):
        return ODRL_NS + term[5:]
    if term.startswith("datagora:"):
        return DATAGORA_NS + term[9:]
    if ":" in term:
        return term
    return ODRL_NS + term  # bare terms are ODRL vocabulary through the ODRL context


def _compact(iri: str) -> str:
    if iri.startswith(ODRL_NS):
        return iri[len(ODRL_NS) :]
    if iri.startswith(DATAGORA_NS):
        return "datagora:" + iri[len(DATAGORA_NS) :]
    return iri


def _identifier(value: object, what: str) -> str:
    if isinstance(value, Mapping):
        if set(value) != {"@id"}:
            raise _fail(f"{what} must be an IRI string or {{'@id': ...}}, got {value!r}")
        value = value["@id"]
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{what} must be a non-empty IRI string, got {value!r}")
    return value


def _int_operand(value: object, what: str) -> int:
    if isinstance(value, Mapping):
        if "@value" not in value or not set(value) <= {"@value", "@type"}:
            raise _fail(f"{what} must be an integer or {{'@value': ..., '@type': 'xsd:integer'}}, got {value!r}")
        if "@type" in value and value["@type"] not in _INTEGER_TYPES:
            raise _fail(f"{what} has datatype {value['@type']!r}, expected xsd:integer")
        value = value["@value"]
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{what} must be an integer, got {value!r}")
    if value < 1:
        raise _fail(f"{what} must be at least 1, got {value}")
    return value


def _number(value: object, what: str) -> float:
    """A finite number from a JSON number or a typed literal (``{"@value": "0.5", "@type": "xsd:decimal"}``)."""
    if isinstance(value, Mapping):
        if "@value" not in value or not set(value) <= {"@value", "@type"}:
            raise _fail(f"{what} must be a number or {{'@value': ..., '@type': 'xsd:decimal'}}, got {value!r}")
        if "@type" in value and value["@type"] not in _DECIMAL_TYPES | _INTEGER_TYPES:
            raise _fail(f"{what} has datatype {value['@type']!r}, expected xsd:decimal or xsd:double")
        value = value["@value"]
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _fail(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _epsilon_operand(value: object, what: str) -> float:
    number = _number(value, what)
    if not 0 < number <= MAX_EPSILON:
        raise _fail(f"{what} must be above 0 and at most {MAX_EPSILON:g}, got {number:g}")
    return number


def _range_operand(value: object, what: str) -> dict[str, tuple[float, float]]:
    """``["bmi [18, 43]", ...]`` as ``{"bmi": (18.0, 43.0)}``."""
    ranges: dict[str, tuple[float, float]] = {}
    for item in sorted(_str_list_operand(value, what)):
        match = _RANGE_RE.match(item)
        if match is None:
            raise _fail(f"{what}: {item!r} is not 'column [low, high]'")
        column = match["column"]
        low, high = (_number(_parse_float(match[key], what), what) for key in ("low", "high"))
        if column.casefold() in {name.casefold() for name in ranges}:
            raise _fail(f"{what}: two ranges for column {column!r}")
        ranges[column] = (low, high)
    return _check_ranges(ranges, what)


def _parse_float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _fail(f"{what}: {text!r} is not a number") from None


def _check_ranges(ranges: Mapping[str, object], what: str) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for column, bounds in ranges.items():
        if not isinstance(column, str) or not column:
            raise _fail(f"{what}: column names must be non-empty strings, got {column!r}")
        if not isinstance(bounds, tuple | list) or len(bounds) != 2:
            raise _fail(f"{what}: the range of {column!r} must be (low, high), got {bounds!r}")
        low, high = (_number(bound, f"{what} of {column!r}") for bound in bounds)
        if not low < high:
            raise _fail(f"{what}: the range of {column!r} must have low < high, got [{low:g}, {high:g}]")
        out[column] = (low, high)
    return out


def _format_range(column: str, bounds: tuple[float, float]) -> str:
    return f"{column} [{_shortest(bounds[0])}, {_shortest(bounds[1])}]"


def _shortest(number: float) -> str:
    """The shortest text that reads back as ``number`` (``18`` for 18.0, ``0.1`` for 0.1)."""
    text = repr(float(number))
    return text[:-2] if text.endswith(".0") else text


def _str_list_operand(value: object, what: str) -> frozenset[str]:
    if isinstance(value, Mapping):
        if set(value) != {"@list"}:
            raise _fail(f"{what} must be a list of strings, got {value!r}")
        value = value["@list"]
    if not isinstance(value, list | tuple):
        raise _fail(f"{what} must be a list of strings, got {value!r}")
    items: list[str] = []
    for item in value:
        if isinstance(item, Mapping) and set(item) <= {"@value", "@type"} and "@value" in item:
            item = item["@value"]
        if not isinstance(item, str) or not item:
            raise _fail(f"{what} must hold non-empty strings, got {item!r}")
        items.append(item)
    return frozenset(items)


def _as_list(value: object, what: str) -> Sequence[Any]:
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        raise _fail(f"{what} must be an object or a list of objects, got {type(value).__name__}")
    return value


def _check_context(context: object) -> None:
    entries = context if isinstance(context, list) else [context]
    if ODRL_CONTEXT not in entries:
        raise _fail(f"@context must include {ODRL_CONTEXT!r}")
    for entry in entries:
        if entry == ODRL_CONTEXT:
            continue
        if isinstance(entry, Mapping) and set(entry) == {"datagora"}:
            if entry["datagora"] != DATAGORA_NS:
                raise _fail(f"prefix 'datagora' must be bound to {DATAGORA_NS!r}, got {entry['datagora']!r}")
            continue
        raise _fail(f"unsupported @context entry {entry!r}")


def _constraints(rule: Mapping[str, Any], what: str) -> list[tuple[str, str, object]]:
    """(left operand IRI, operator IRI, right operand) of each constraint of ``rule``."""
    out: list[tuple[str, str, object]] = []
    for constraint in _as_list(rule.get("constraint", []), f"{what} constraint"):
        if not isinstance(constraint, Mapping):
            raise _fail(f"{what} constraint must be an object, got {constraint!r}")
        if "and" in constraint or "or" in constraint or "xone" in constraint or "andSequence" in constraint:
            raise _fail(f"{what}: logical constraints (and/or/xone/andSequence) are not supported")
        unknown = sorted(set(constraint) - _CONSTRAINT_KEYS)
        if unknown:
            raise _fail(f"{what} constraint has unsupported key(s) {unknown}")
        missing = sorted({"leftOperand", "operator", "rightOperand"} - set(constraint))
        if missing:
            raise _fail(f"{what} constraint lacks {missing}")
        if constraint.get("@type", "Constraint") not in ("Constraint", "odrl:Constraint", ODRL_NS + "Constraint"):
            raise _fail(f"{what} constraint @type must be Constraint")
        left = _expand(constraint["leftOperand"], f"{what} leftOperand")
        operator = _expand(constraint["operator"], f"{what} operator")
        out.append((left, operator, constraint["rightOperand"]))
    return out


def _expect_operator(left: str, operator: str, expected: str, what: str) -> None:
    if operator != ODRL_NS + expected:
        raise _fail(f"{what} {_compact(left)} needs operator {expected!r}, got {_compact(operator)!r}")


def _check_rule(rule: object, what: str) -> Mapping[str, Any]:
    if not isinstance(rule, Mapping):
        raise _fail(f"{what} must be an object, got {rule!r}")
    if "duty" in rule:
        raise _fail(f"{what}: duties are not supported (payment is settled by the Market contract)")
    unknown = sorted(set(rule) - _RULE_KEYS)
    if unknown:
        raise _fail(f"{what} has unsupported key(s) {unknown}")
    if "action" not in rule:
        raise _fail(f"{what} lacks an action")
    action = rule["action"]
    if isinstance(action, list):
        if len(action) != 1:
            raise _fail(f"{what} must have exactly one action, got {action!r}")
        action = action[0]
    if _expand(action, f"{what} action") != _USE:
        raise _fail(f"{what} action must be odrl:use, got {action!r}")
    return rule


def _inherited(doc: Mapping[str, Any], rules: Iterable[Mapping[str, Any]], key: str) -> str:
    """An ODRL property set on the policy (where it applies to every rule) or on its rules; all must agree."""
    values = {_identifier(doc[key], key)} if key in doc else set()
    values |= {_identifier(rule[key], f"rule {key}") for rule in rules if key in rule}
    if not values:
        raise _fail(f"Offer lacks {key!r}")
    if len(values) > 1:
        raise _fail(f"rules disagree on {key!r}: {sorted(values)}")
    return values.pop()


def _fold(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.casefold() for name in names)


@dataclass(frozen=True)
class UsagePolicy:
    """What a use-right buyer may ask (W3C ODRL 2.2 ``Offer`` with action ``odrl:use``; Wu et al. §II).

    - ``uid``: the policy IRI; ``assigner``: the data owner (e.g. ``did:pkh:eip155:1:0x…``); ``target``: the
      dataset IRI. All three are required by ODRL for an Offer.
    - ``allowed_aggregates``: subset of :data:`~datagora.query.spec.AGGREGATE_FUNCTIONS`.
    - ``min_group_size``: k ≥ 1; aggregates over fewer than k rows are suppressed.
    - ``raw_rows``: whether non-aggregate (row-returning) queries are permitted.
    - ``allowed_columns``: the only readable columns, or ``None`` for all; ``prohibited_columns`` win over it.
    - ``max_rows``: rows per result cap (≥ 1) or ``None``; ``max_queries``: prepaid query count (``odrl:count``).
    - ``exact_answers``: False (the default) answers with differential privacy: noise of scale sensitivity /
      epsilon (Laplace mechanism; Dwork & Roth 2014, section 3.3); True is the owner's explicit opt-out.
    - ``epsilon_per_query``: epsilon each answer spends (> 0, at most 100); ``privacy_budget``: epsilon one buyer
      organisation may spend on the dataset across all its orders (at least ``epsilon_per_query``).
    - ``value_ranges``: column → ``(low, high)``: sums and averages clamp the column to it.
    With ``exact_answers`` the three privacy terms are ignored (reset to their defaults and no ranges).

    Raises :class:`ValidationError` on out-of-range or ill-typed fields.
    """

    uid: str
    assigner: str
    target: str
    allowed_aggregates: frozenset[str] = frozenset(AGGREGATE_FUNCTIONS)
    min_group_size: int = 1
    raw_rows: bool = False
    allowed_columns: frozenset[str] | None = None
    prohibited_columns: frozenset[str] = frozenset()
    max_rows: int | None = None
    max_queries: int | None = None
    exact_answers: bool = False
    epsilon_per_query: float = DEFAULT_EPSILON_PER_QUERY
    privacy_budget: float = DEFAULT_PRIVACY_BUDGET
    value_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for attr in ("uid", "assigner", "target"):
            _identifier(getattr(self, attr), attr)
        for attr in ("allowed_aggregates", "allowed_columns", "prohibited_columns"):
            if isinstance(getattr(self, attr), str):
                raise _fail(f"{attr} must be a set of names, not a string")
        aggregates = _str_list_operand(list(self.allowed_aggregates), "allowed_aggregates")
        unknown = sorted(aggregates - set(AGGREGATE_FUNCTIONS))
        if unknown:
            raise _fail(f"unknown aggregate function(s) {unknown}; use {list(AGGREGATE_FUNCTIONS)}")
        object.__setattr__(self, "allowed_aggregates", aggregates)
        _int_operand(self.min_group_size, "min_group_size")
        if not isinstance(self.raw_rows, bool):
            raise _fail(f"raw_rows must be a boolean, got {self.raw_rows!r}")
        if self.allowed_columns is not None:
            object.__setattr__(
                self, "allowed_columns", _str_list_operand(list(self.allowed_columns), "allowed_columns")
            )
        object.__setattr__(
            self, "prohibited_columns", _str_list_operand(list(self.prohibited_columns), "prohibited_columns")
        )
        for attr in ("max_rows", "max_queries"):
            if getattr(self, attr) is not None:
                _int_operand(getattr(self, attr), attr)
        if not isinstance(self.exact_answers, bool):
            raise _fail(f"exact_answers must be a boolean, got {self.exact_answers!r}")
        object.__setattr__(self, "epsilon_per_query", _epsilon_operand(self.epsilon_per_query, "epsilon_per_query"))
        object.__setattr__(self, "privacy_budget", _number(self.privacy_budget, "privacy_budget"))
        if self.privacy_budget < self.epsilon_per_query:
            raise _fail(
                f"the privacy budget ({self.privacy_budget:g}) must be at least the epsilon per query "
                f"({self.epsilon_per_query:g})"
            )
        if not isinstance(self.value_ranges, Mapping):
            raise _fail("value_ranges must map column names to (low, high)")
        object.__setattr__(self, "value_ranges", MappingProxyType(_check_ranges(self.value_ranges, "value_ranges")))
        if self.exact_answers:  # privacy terms mean nothing for exact answers: one canonical form
            object.__setattr__(self, "epsilon_per_query", DEFAULT_EPSILON_PER_QUERY)
            object.__setattr__(self, "privacy_budget", DEFAULT_PRIVACY_BUDGET)
            object.__setattr__(self, "value_ranges", MappingProxyType({}))
        if not self.exact_answers and self.raw_rows:
            raise _fail("raw rows cannot be answered with differential privacy: prohibit them or opt out")

    @property
    def differential_privacy(self) -> bool:
        """Whether answers are differentially private (the default) rather than exact."""
        return not self.exact_answers

    def value_range(self, column: str) -> tuple[float, float] | None:
        """The declared ``(low, high)`` of ``column`` (case-insensitive), or None."""
        folded = column.casefold()
        for name, bounds in self.value_ranges.items():
            if name.casefold() == folded:
                return bounds
        return None

    @classmethod
    def aggregates_only(
        cls,
        *,
        uid: str,
        assigner: str,
        target: str,
        k: int = 5,
        aggregates: Iterable[str] = ("count", "sum", "avg"),
        columns: Iterable[str] | None = None,
        prohibited_columns: Iterable[str] = (),
        max_rows: int | None = 1000,
        max_queries: int | None = None,
        exact_answers: bool = False,
        epsilon_per_query: float = DEFAULT_EPSILON_PER_QUERY,
        privacy_budget: float = DEFAULT_PRIVACY_BUDGET,
        value_ranges: Mapping[str, tuple[float, float]] | None = None,
    ) -> UsagePolicy:
        """The usual use-right terms: aggregates only (count, sum, avg by default), groups of at least ``k`` rows,
        no raw rows, at most ``max_rows`` rows per result, differentially private answers unless
        ``exact_answers``."""
        return cls(
            uid=uid,
            assigner=assigner,
            target=target,
            allowed_aggregates=frozenset(aggregates),
            min_group_size=k,
            raw_rows=False,
            allowed_columns=None if columns is None else frozenset(columns),
            prohibited_columns=frozenset(prohibited_columns),
            max_rows=max_rows,
            max_queries=max_queries,
            exact_answers=exact_answers,
            epsilon_per_query=epsilon_per_query,
            privacy_budget=privacy_budget,
            value_ranges=dict(value_ranges or {}),
        )

    # --- decisions -------------------------------------------------------------------------------------------

    def permits_column(self, name: str) -> bool:
        """Whether a query may read column ``name`` (case-insensitive; prohibitions win)."""
        folded = name.casefold()
        if folded in _fold(self.prohibited_columns):
            return False
        return self.allowed_columns is None or folded in _fold(self.allowed_columns)

    def permits_aggregate(self, function: str) -> bool:
        """Whether aggregate ``function`` (e.g. ``"sum"``) may be used."""
        return function in self.allowed_aggregates

    # --- JSON-LD ---------------------------------------------------------------------------------------------

    def to_jsonld(self) -> dict[str, Any]:
        """The canonical ODRL 2.2 JSON-LD ``Offer`` (see module docstring); sets are written sorted."""
        constraints: list[dict[str, Any]] = [
            {
                "leftOperand": "datagora:aggregateFunction",
                "operator": "isAnyOf",
                "rightOperand": sorted(self.allowed_aggregates),
            },
            {"leftOperand": "datagora:groupSize", "operator": "gteq", "rightOperand": self.min_group_size},
        ]
        if self.allowed_columns is not None:
            constraints.append(
                {"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": sorted(self.allowed_columns)}
            )
        if self.max_rows is not None:
            constraints.append(
                {"leftOperand": "datagora:resultRows", "operator": "lteq", "rightOperand": self.max_rows}
            )
        if self.max_queries is not None:
            constraints.append({"leftOperand": "count", "operator": "lteq", "rightOperand": self.max_queries})
        form = "datagora:exactAnswers" if self.exact_answers else "datagora:differentialPrivacy"
        constraints.append({"leftOperand": "datagora:answerForm", "operator": "eq", "rightOperand": {"@id": form}})
        if not self.exact_answers:
            constraints.append(
                {"leftOperand": "datagora:epsilonPerQuery", "operator": "lteq", "rightOperand": self.epsilon_per_query}
            )
            constraints.append(
                {"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": self.privacy_budget}
            )
            if self.value_ranges:
                constraints.append(
                    {
                        "leftOperand": "datagora:valueRange",
                        "operator": "isAnyOf",
                        "rightOperand": sorted(_format_range(c, b) for c, b in self.value_ranges.items()),
                    }
                )
        doc: dict[str, Any] = {
            "@context": [ODRL_CONTEXT, {"datagora": DATAGORA_NS}],
            "@type": "Offer",
            "uid": self.uid,
            "profile": DATAGORA_PROFILE,
            "assigner": self.assigner,
            "target": self.target,
            "conflict": "prohibit",
            "permission": [{"action": "use", "constraint": constraints}],
        }
        prohibitions: list[dict[str, Any]] = []
        if not self.raw_rows:
            prohibitions.append(
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "datagora:resultForm",
                            "operator": "eq",
                            "rightOperand": {"@id": "datagora:rawRows"},
                        }
                    ],
                }
            )
        if self.prohibited_columns:
            prohibitions.append(
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "datagora:column",
                            "operator": "isAnyOf",
                            "rightOperand": sorted(self.prohibited_columns),
                        }
                    ],
                }
            )
        if prohibitions:
            doc["prohibition"] = prohibitions
        return doc

    @classmethod
    def from_jsonld(cls, doc: Mapping[str, Any]) -> UsagePolicy:
        """Parse an ODRL 2.2 JSON-LD ``Offer`` written in this module's profile.

        Accepts compact or full IRIs (``use`` / ``odrl:use`` / ``http://www.w3.org/ns/odrl/2/use``), policy- or
        rule-level ``assigner`` / ``target``, and typed literals (``{"@value": "5", "@type": "xsd:integer"}``).
        Strict otherwise: a term it cannot enforce (unknown key or left operand, duty, logical constraint, other
        conflict strategy or profile) raises :class:`ValidationError` instead of being ignored.
        """
        if not isinstance(doc, Mapping):
            raise _fail(f"policy must be a JSON object, got {type(doc).__name__}")
        unknown = sorted(set(doc) - _POLICY_KEYS)
        if unknown:
            raise _fail(f"unsupported key(s) {unknown}")
        if "@context" not in doc:
            raise _fail("missing @context")
        _check_context(doc["@context"])
        if ("@type" in doc) == ("type" in doc):
            raise _fail("exactly one of '@type' / 'type' must say 'Offer'")
        if _expand(doc.get("@type", doc.get("type")), "@type") != ODRL_NS + "Offer":
            raise _fail(f"@type must be Offer, got {doc.get('@type', doc.get('type'))!r}")
        if ("uid" in doc) == ("@id" in doc):
            raise _fail("exactly one of 'uid' / '@id' must identify the policy")
        uid = _identifier(doc.get("uid", doc.get("@id")), "uid")
        if "profile" in doc and _identifier(doc["profile"], "profile") != DATAGORA_PROFILE:
            raise _fail(f"unsupported profile {doc['profile']!r}; expected {DATAGORA_PROFILE!r}")
        if "conflict" in doc and _expand(doc["conflict"], "conflict") != ODRL_NS + "prohibit":
            raise _fail(f"conflict strategy must be 'prohibit', got {doc['conflict']!r}")

        if "permission" not in doc:
            raise _fail("Offer lacks a permission")
        permissions = [_check_rule(r, "permission") for r in _as_list(doc["permission"], "permission")]
        if len(permissions) != 1:
            raise _fail(f"exactly one permission expected, got {len(permissions)}")
        prohibitions = [_check_rule(r, "prohibition") for r in _as_list(doc.get("prohibition", []), "prohibition")]
        rules = [*permissions, *prohibitions]

        fields: dict[str, Any] = {}
        names = {
            _COUNT: ("max_queries", "lteq"),
            _AGGREGATE: ("allowed_aggregates", "isAnyOf"),
            _GROUP_SIZE: ("min_group_size", "gteq"),
            _RESULT_ROWS: ("max_rows", "lteq"),
            _COLUMN: ("allowed_columns", "isAnyOf"),
            _ANSWER_FORM: ("exact_answers", "eq"),
            _EPSILON: ("epsilon_per_query", "lteq"),
            _BUDGET: ("privacy_budget", "lteq"),
            _VALUE_RANGE: ("value_ranges", "isAnyOf"),
        }
        for left, operator, right in _constraints(permissions[0], "permission"):
            if left in names and names[left][0] in (
                "exact_answers",
                "epsilon_per_query",
                "privacy_budget",
                "value_ranges",
            ):
                field_name, expected = names[left]
                if field_name in fields:
                    raise _fail(f"duplicate permission constraint on {_compact(left)!r}")
                _expect_operator(left, operator, expected, "permission")
                what = f"permission {_compact(left)}"
                if field_name == "exact_answers":
                    form = _expand(right, what)
                    if form not in (_EXACT_ANSWERS, _DIFFERENTIAL_PRIVACY):
                        raise _fail(
                            f"{what} must be datagora:differentialPrivacy or datagora:exactAnswers, got {right!r}"
                        )
                    fields[field_name] = form == _EXACT_ANSWERS
                elif field_name == "value_ranges":
                    fields[field_name] = _range_operand(right, what)
                else:
                    fields[field_name] = (
                        _epsilon_operand(right, what) if field_name == "epsilon_per_query" else (_number(right, what))
                    )
                continue
            if left not in names:
                raise _fail(f"unsupported permission leftOperand {_compact(left)!r}")
            field_name, expected = names[left]
            if field_name in fields:
                raise _fail(f"duplicate permission constraint on {_compact(left)!r}")
            _expect_operator(left, operator, expected, "permission")
            what = f"permission {_compact(left)}"
            fields[field_name] = _str_list_operand(right, what) if expected == "isAnyOf" else _int_operand(right, what)

        raw_rows = True
        prohibited: set[str] = set()
        for rule in prohibitions:
            constraints = _constraints(rule, "prohibition")
            if len(constraints) != 1:
                raise _fail("each prohibition must carry exactly one constraint")
            left, operator, right = constraints[0]
            if left == _RESULT_FORM:
                _expect_operator(left, operator, "eq", "prohibition")
                if _expand(right, "prohibition datagora:resultForm") != _RAW_ROWS:
                    raise _fail(f"prohibition datagora:resultForm must be datagora:rawRows, got {right!r}")
                raw_rows = False
            elif left == _COLUMN:
                _expect_operator(left, operator, "isAnyOf", "prohibition")
                prohibited |= _str_list_operand(right, "prohibition datagora:column")
            else:
                raise _fail(f"unsupported prohibition leftOperand {_compact(left)!r}")

        if fields.get("exact_answers") and {"epsilon_per_query", "privacy_budget", "value_ranges"} & set(fields):
            raise _fail("a policy with exact answers takes no epsilon, privacy budget or value ranges")
        return cls(
            uid=uid,
            assigner=_inherited(doc, rules, "assigner"),
            target=_inherited(doc, rules, "target"),
            raw_rows=raw_rows,
            prohibited_columns=frozenset(prohibited),
            **fields,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> UsagePolicy:
        """:meth:`from_jsonld` of a JSON text; raises :class:`ValidationError` on invalid JSON."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise _fail(f"not valid JSON: {exc}") from exc
        return cls.from_jsonld(doc)

    def canonical_bytes(self) -> bytes:
        """Compact, key-sorted UTF-8 JSON of :meth:`to_jsonld`."""
        return canonical_json(self.to_jsonld())

    def policy_hash(self) -> bytes:
        """Keccak-256 (32 bytes) of :meth:`canonical_bytes`: the commitment an offer stores on chain. It hashes the
        canonical serialisation, so equivalent spellings of the same policy share one hash."""
        return keccak256(self.canonical_bytes())


__all__ = [
    "DATAGORA_NS",
    "DATAGORA_PROFILE",
    "DEFAULT_EPSILON_PER_QUERY",
    "DEFAULT_PRIVACY_BUDGET",
    "ODRL_CONTEXT",
    "ODRL_NS",
    "UsagePolicy",
]
