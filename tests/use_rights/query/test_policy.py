"""UsagePolicy: W3C ODRL 2.2 JSON-LD Offer round trip, alternative spellings, malformed policies, hashing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import ValidationError
from datagora.query import AGGREGATE_FUNCTIONS, DATAGORA_NS, DATAGORA_PROFILE, ODRL_CONTEXT, UsagePolicy

ODRL = "http://www.w3.org/ns/odrl/2/"


def strict_policy() -> UsagePolicy:
    return UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:sales-2024",
        assigner="did:pkh:eip155:1:0x00000000000000000000000000000000000000A1",
        target="urn:datagora:dataset:7",
        k=5,
        aggregates=("count", "avg"),
        columns=("age", "region", "ssn"),
        prohibited_columns=("ssn",),
        max_rows=1000,
        max_queries=100,
    )


def test_aggregates_only_defaults() -> None:
    policy = UsagePolicy.aggregates_only(uid="urn:p", assigner="did:example:a", target="urn:d")
    assert policy.min_group_size == 5
    assert policy.allowed_aggregates == frozenset({"count", "sum", "avg"})
    assert policy.raw_rows is False
    assert policy.allowed_columns is None
    assert policy.prohibited_columns == frozenset()
    assert policy.max_rows == 1000
    assert policy.max_queries is None


def test_to_jsonld_is_an_odrl_offer() -> None:
    doc = strict_policy().to_jsonld()
    assert doc["@context"] == [ODRL_CONTEXT, {"datagora": DATAGORA_NS}]
    assert doc["@type"] == "Offer"
    assert doc["uid"] == "urn:datagora:policy:sales-2024"
    assert doc["profile"] == DATAGORA_PROFILE
    assert doc["assigner"] == "did:pkh:eip155:1:0x00000000000000000000000000000000000000A1"
    assert doc["target"] == "urn:datagora:dataset:7"
    assert doc["conflict"] == "prohibit"
    [permission] = doc["permission"]
    assert permission["action"] == "use"
    assert permission["constraint"] == [
        {"leftOperand": "datagora:aggregateFunction", "operator": "isAnyOf", "rightOperand": ["avg", "count"]},
        {"leftOperand": "datagora:groupSize", "operator": "gteq", "rightOperand": 5},
        {"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": ["age", "region", "ssn"]},
        {"leftOperand": "datagora:resultRows", "operator": "lteq", "rightOperand": 1000},
        {"leftOperand": "count", "operator": "lteq", "rightOperand": 100},
        {
            "leftOperand": "datagora:answerForm",
            "operator": "eq",
            "rightOperand": {"@id": "datagora:differentialPrivacy"},
        },
        {"leftOperand": "datagora:epsilonPerQuery", "operator": "lteq", "rightOperand": 1.0},
        {"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": 10.0},
    ]
    assert doc["prohibition"] == [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "datagora:resultForm", "operator": "eq", "rightOperand": {"@id": "datagora:rawRows"}}
            ],
        },
        {
            "action": "use",
            "constraint": [{"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": ["ssn"]}],
        },
    ]
    json.dumps(doc)  # plain JSON


@pytest.mark.parametrize(
    "policy",
    [
        strict_policy(),
        UsagePolicy.aggregates_only(uid="urn:p", assigner="did:example:a", target="urn:d"),
        UsagePolicy(uid="urn:p", assigner="did:example:a", target="urn:d", raw_rows=True, exact_answers=True),
        UsagePolicy(uid="urn:p", assigner="did:example:a", target="urn:d", allowed_aggregates=frozenset()),
    ],
)
def test_jsonld_round_trip(policy: UsagePolicy) -> None:
    doc = policy.to_jsonld()
    assert UsagePolicy.from_jsonld(doc) == policy
    assert UsagePolicy.from_json(json.dumps(doc)) == policy
    assert UsagePolicy.from_jsonld(doc).policy_hash() == policy.policy_hash()


def test_minimal_offer_means_no_constraints() -> None:
    doc: dict[str, Any] = {
        "@context": ODRL_CONTEXT,
        "@type": "Offer",
        "uid": "urn:p",
        "assigner": "did:example:a",
        "target": "urn:d",
        "permission": [{"action": "use"}],
    }
    with pytest.raises(ValidationError, match="raw rows cannot be answered with differential privacy"):
        UsagePolicy.from_jsonld(doc)  # raw rows need the owner's explicit opt-out of differential privacy
    exact = {"leftOperand": "datagora:answerForm", "operator": "eq", "rightOperand": {"@id": "datagora:exactAnswers"}}
    doc["permission"] = [{"action": "use", "constraint": [exact]}]
    policy = UsagePolicy.from_jsonld(doc)
    assert policy.allowed_aggregates == frozenset(AGGREGATE_FUNCTIONS)
    assert policy.min_group_size == 1
    assert policy.raw_rows is True
    assert policy.allowed_columns is None
    assert policy.max_rows is None
    assert policy.max_queries is None


def test_equivalent_spellings_parse_to_the_same_policy() -> None:
    """Full IRIs, odrl: prefixes, typed literals, @id, @list and rule-level target/assigner (ODRL 2.2 §2.7.1)."""
    doc = {
        "@context": [ODRL_CONTEXT],
        "type": "odrl:Offer",
        "@id": "urn:datagora:policy:sales-2024",
        "profile": {"@id": DATAGORA_PROFILE},
        "conflict": "odrl:prohibit",
        "permission": {
            "target": {"@id": "urn:datagora:dataset:7"},
            "assigner": "did:pkh:eip155:1:0x00000000000000000000000000000000000000A1",
            "action": [{"@id": ODRL + "use"}],
            "constraint": [
                {
                    "leftOperand": ODRL + "count",
                    "operator": "odrl:lteq",
                    "rightOperand": {"@value": "100", "@type": "xsd:integer"},
                },
                {"leftOperand": {"@id": DATAGORA_NS + "groupSize"}, "operator": "gteq", "rightOperand": {"@value": 5}},
                {
                    "@type": "Constraint",
                    "leftOperand": "datagora:aggregateFunction",
                    "operator": "isAnyOf",
                    "rightOperand": {"@list": ["count", {"@value": "avg"}]},
                },
                {"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": ["region", "age", "ssn"]},
                {"leftOperand": "datagora:resultRows", "operator": "lteq", "rightOperand": 1000},
            ],
        },
        "prohibition": [
            {
                "action": "odrl:use",
                "constraint": {"leftOperand": "datagora:column", "operator": "isAnyOf", "rightOperand": ["ssn"]},
            },
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "datagora:resultForm", "operator": "eq", "rightOperand": "datagora:rawRows"}
                ],
            },
        ],
    }
    policy = UsagePolicy.from_jsonld(doc)
    assert policy == strict_policy()
    assert policy.policy_hash() == strict_policy().policy_hash()


def test_policy_hash_is_keccak_of_canonical_json() -> None:
    policy = strict_policy()
    expected = json.dumps(policy.to_jsonld(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert policy.canonical_bytes() == expected
    assert policy.policy_hash() == keccak256(expected)
    assert len(policy.policy_hash()) == 32


def test_policy_hash_changes_with_any_term() -> None:
    base = strict_policy()
    variants = [
        UsagePolicy.aggregates_only(uid=base.uid, assigner=base.assigner, target=base.target, k=k) for k in (4, 5, 6)
    ]
    hashes = {p.policy_hash() for p in [base, *variants]}
    assert len(hashes) == 4


def test_permits_column_is_case_insensitive_and_prohibition_wins() -> None:
    policy = strict_policy()
    assert policy.permits_column("age")
    assert policy.permits_column("AGE")
    assert not policy.permits_column("ssn")  # allowed and prohibited: prohibition wins
    assert not policy.permits_column("SSN")
    assert not policy.permits_column("amount")  # not in the allowed list
    assert policy.permits_aggregate("avg")
    assert not policy.permits_aggregate("sum")


Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        del doc[key]

    return mutate


def _constraint(index: int, **fields: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["permission"][0]["constraint"][index].update(fields)

    return mutate


def _add_constraint(constraint: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        doc["permission"][0]["constraint"].append(constraint)

    return mutate


MALFORMED: list[tuple[str, Mutation, str]] = [
    ("no context", _delete("@context"), "policy: missing @context"),
    ("foreign context", _set(("@context",), "https://schema.org/"), "must include"),
    (
        "datagora prefix rebound",
        _set(("@context",), [ODRL_CONTEXT, {"datagora": "https://evil/"}]),
        "prefix 'datagora'",
    ),
    ("not an offer", _set(("@type",), "Agreement"), "@type must be Offer"),
    ("no uid", _delete("uid"), "'uid' / '@id'"),
    ("empty uid", _set(("uid",), ""), "uid must be a non-empty IRI"),
    ("no assigner", _delete("assigner"), "Offer lacks 'assigner'"),
    ("no target", _delete("target"), "Offer lacks 'target'"),
    ("rule target disagrees", _set(("permission", 0, "target"), "urn:other"), "rules disagree on 'target'"),
    ("other profile", _set(("profile",), "https://example.org/profile"), "unsupported profile"),
    ("conflict perm", _set(("conflict",), "perm"), "conflict strategy must be 'prohibit'"),
    ("unknown top-level key", _set(("obligation",), []), "unsupported key(s) ['obligation']"),
    ("no permission", _delete("permission"), "Offer lacks a permission"),
    ("two permissions", _set(("permission",), [{"action": "use"}, {"action": "use"}]), "exactly one permission"),
    ("permission not object", _set(("permission",), ["use"]), "permission must be an object"),
    ("no action", _set(("permission", 0), {"constraint": []}), "permission lacks an action"),
    ("action not use", _set(("permission", 0, "action"), "distribute"), "action must be odrl:use"),
    ("two actions", _set(("permission", 0, "action"), ["use", "read"]), "exactly one action"),
    ("duty", _set(("permission", 0, "duty"), [{"action": "compensate"}]), "duties are not supported"),
    (
        "unknown left operand",
        _add_constraint({"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}),
        "unsupported permission leftOperand 'spatial'",
    ),
    (
        "unknown datagora operand",
        _add_constraint({"leftOperand": "datagora:epsilon", "operator": "lteq", "rightOperand": 1}),
        "'datagora:epsilon'",
    ),
    ("wrong operator for k", _constraint(1, operator="lteq"), "needs operator 'gteq'"),
    ("k zero", _constraint(1, rightOperand=0), "must be at least 1"),
    ("k negative", _constraint(1, rightOperand=-3), "must be at least 1"),
    ("k not integer", _constraint(1, rightOperand="five"), "must be an integer"),
    ("k boolean", _constraint(1, rightOperand=True), "must be an integer"),
    ("k float", _constraint(1, rightOperand=5.5), "must be an integer"),
    ("k wrong datatype", _constraint(1, rightOperand={"@value": "5", "@type": "xsd:string"}), "expected xsd:integer"),
    ("unknown aggregate", _constraint(0, rightOperand=["count", "median"]), "unknown aggregate function(s) ['median']"),
    ("aggregates not a list", _constraint(0, rightOperand="count"), "must be a list of strings"),
    ("columns hold a number", _constraint(2, rightOperand=["age", 3]), "must hold non-empty strings"),
    (
        "duplicate constraint",
        _add_constraint({"leftOperand": "datagora:groupSize", "operator": "gteq", "rightOperand": 2}),
        "duplicate permission constraint",
    ),
    (
        "constraint lacks operand",
        _add_constraint({"leftOperand": "count", "operator": "lteq"}),
        "lacks ['rightOperand']",
    ),
    ("constraint extra key", _constraint(1, unit="rows"), "unsupported key(s) ['unit']"),
    ("logical constraint", _add_constraint({"and": []}), "logical constraints"),
    (
        "prohibition on other operand",
        _set(("prohibition", 0, "constraint", 0, "leftOperand"), "purpose"),
        "unsupported prohibition leftOperand 'purpose'",
    ),
    (
        "prohibition of other form",
        _set(("prohibition", 0, "constraint", 0, "rightOperand"), {"@id": "datagora:aggregate"}),
        "must be datagora:rawRows",
    ),
    ("prohibition without constraint", _set(("prohibition", 0, "constraint"), []), "exactly one constraint"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_malformed_policies_are_refused(mutate: Mutation, message: str) -> None:
    doc = copy.deepcopy(strict_policy().to_jsonld())
    mutate(doc)
    with pytest.raises(ValidationError, match=r"^policy: ") as info:
        UsagePolicy.from_jsonld(doc)
    assert message in str(info.value)


@pytest.mark.parametrize("doc", [None, [], "Offer", 3])
def test_non_object_policy_is_refused(doc: Any) -> None:
    with pytest.raises(ValidationError, match="policy must be a JSON object"):
        UsagePolicy.from_jsonld(doc)


def test_invalid_json_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        UsagePolicy.from_json("{not json")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_group_size": 0}, "min_group_size must be at least 1"),
        ({"allowed_aggregates": frozenset({"median"})}, "unknown aggregate"),
        ({"allowed_columns": "ssn"}, "must be a set of names"),
        ({"max_rows": 0}, "max_rows must be at least 1"),
        ({"uid": " "}, "uid must be a non-empty IRI"),
        ({"raw_rows": "yes"}, "raw_rows must be a boolean"),
    ],
)
def test_constructor_validates(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"uid": "urn:p", "assigner": "did:example:a", "target": "urn:d"}
    with pytest.raises(ValidationError, match=message):
        UsagePolicy(**(base | fields))
