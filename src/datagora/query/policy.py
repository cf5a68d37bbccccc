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
          {"leftOperand": "count", "operator": "lteq", "rightOperand": 100}
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
- ``datagora:groupSize gteq k``: every returned aggregate covers at least ``k`` rows; smaller groups are
  suppressed (k-anonymity-style small-cell suppression; not differential privacy, so the query quota is what
  bounds differencing attacks). Absent: 1.
- ``datagora:column isAnyOf [...]``: in a permission, the only columns a query may read (absent: all); in a
  prohibition, columns no query may read. Prohibitions win (``conflict: prohibit``).
- ``datagora:resultRows lteq n``: at most ``n`` rows per result (absent: no cap).
- prohibition ``datagora:resultForm eq datagora:rawRows``: only aggregate queries (absent: raw rows allowed).

Column names are compared case-insensitively, as DuckDB resolves identifiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import ValidationError
from datagora.query.spec import AGGREGATE_FUNCTIONS, canonical_json

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

_INTEGER_TYPES: Final = frozenset(
    f"{prefix}{name}"
    for prefix in ("xsd:", "http://www.w3.org/2001/XMLSchema#")
    for name in ("integer", "int", "long", "nonNegativeInteger", "positiveInteger")
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
    ) -> UsagePolicy:
        """The usual use-right terms: aggregates only (count, sum, avg by default), groups of at least ``k`` rows,
        no raw rows, at most ``max_rows`` rows per result."""
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
        }
        for left, operator, right in _constraints(permissions[0], "permission"):
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


__all__ = ["DATAGORA_NS", "DATAGORA_PROFILE", "ODRL_CONTEXT", "ODRL_NS", "UsagePolicy"]
