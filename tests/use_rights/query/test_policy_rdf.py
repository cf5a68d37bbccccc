"""A use-right policy read as RDF with the W3C ODRL 2.2 JSON-LD context (npm ``@digitalbazaar/odrl-context``, so
nothing is fetched from w3.org): the query count is ODRL's own ``odrl:count`` left operand, and the datagora:
terms stay in their profile's namespace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from datagora.query import UsagePolicy
from datagora.services.use_rights import default_policy
from tests import REPO_ROOT
from tests.interop.node_kit import needs_node

pytestmark = needs_node

ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
CONTEXT_FILE = REPO_ROOT / "node_modules/@digitalbazaar/odrl-context/contexts/odrl.jsonld"
SELLER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def as_rdf(doc: dict[str, Any]) -> Graph:
    """Parse a policy whose ``@context`` names the ODRL context URL, with that context read from the npm copy."""
    odrl_context = json.loads(CONTEXT_FILE.read_text())["@context"]
    contexts = doc["@context"] if isinstance(doc["@context"], list) else [doc["@context"]]
    local = [odrl_context if c == "http://www.w3.org/ns/odrl.jsonld" else c for c in contexts]
    return Graph().parse(data=json.dumps({**doc, "@context": local}), format="json-ld")


def count_constraints(g: Graph) -> list[tuple[Any, Any]]:
    return [
        (g.value(c, ODRL.operator), g.value(c, ODRL.rightOperand)) for c in g.subjects(ODRL.leftOperand, ODRL["count"])
    ]


@pytest.mark.parametrize("max_queries", [1, 7, 1_000_000])
def test_query_count_is_an_odrl_count_constraint(max_queries: int) -> None:
    policy = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:dataset-7",
        assigner=f"did:pkh:eip155:31337:{SELLER}",
        target="urn:datagora:dataset:7",
        max_queries=max_queries,
    )
    g = as_rdf(policy.to_jsonld())
    policy_node = URIRef("urn:datagora:policy:dataset-7")
    assert (policy_node, RDF.type, ODRL.Offer) in g
    assert g.value(policy_node, ODRL.assigner) == URIRef(f"did:pkh:eip155:31337:{SELLER}")
    assert g.value(policy_node, ODRL.target) == URIRef("urn:datagora:dataset:7")
    (permission,) = g.objects(policy_node, ODRL.permission)
    assert g.value(permission, ODRL.action) == ODRL.use
    constraints = set(g.objects(permission, ODRL.constraint))
    assert count_constraints(g) == [(ODRL.lteq, Literal(max_queries))]
    assert next(iter(g.subjects(ODRL.leftOperand, ODRL["count"]))) in constraints
    assert URIRef("urn:datagora:odrl:groupSize") in set(g.objects(None, ODRL.leftOperand))


def test_policy_without_a_count_has_no_count_constraint() -> None:
    """The default policy carries no count of its own; ``list_use_right`` adds the listing's (checked in
    tests/catalog/test_published_metadata.py)."""
    assert count_constraints(as_rdf(default_policy(31337, SELLER, 7).to_jsonld())) == []


def test_privacy_terms_are_profile_constraints_in_rdf() -> None:
    """Differential privacy (the default) as constraints of Datagora's profile: the answer form an IRI, epsilon
    and budget numbers, value ranges strings; nothing leaks into the ODRL namespace."""
    policy = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:dataset-7",
        assigner=f"did:pkh:eip155:31337:{SELLER}",
        target="urn:datagora:dataset:7",
        epsilon_per_query=0.5,
        privacy_budget=5,
        value_ranges={"bmi": (18, 43)},
    )
    g = as_rdf(policy.to_jsonld())
    dg = Namespace("urn:datagora:odrl:")

    def right(left: URIRef) -> Any:
        (constraint,) = g.subjects(ODRL.leftOperand, left)
        return g.value(constraint, ODRL.operator), g.value(constraint, ODRL.rightOperand)

    assert right(dg.answerForm) == (ODRL.eq, dg.differentialPrivacy)
    assert right(dg.epsilonPerQuery) == (ODRL.lteq, Literal(0.5))
    assert right(dg.privacyBudget) == (ODRL.lteq, Literal(5.0))
    assert right(dg.valueRange) == (ODRL.isAnyOf, Literal("bmi [18, 43]"))
    exact = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:dataset-7", assigner="did:example:a", target="urn:d", exact_answers=True
    )
    g_exact = as_rdf(exact.to_jsonld())
    (form,) = g_exact.subjects(ODRL.leftOperand, dg.answerForm)
    assert g_exact.value(form, ODRL.rightOperand) == dg.exactAnswers
    assert not set(g_exact.subjects(ODRL.leftOperand, dg.epsilonPerQuery))
