"""Each hashed document, computed by one side and recomputed by the other from what it received (JSON text, with
or without ASCII escapes), gives the same hash, for non-ASCII text and for floats; NaN is refused with a clear
error. The on-chain sides of these paths run in the tests of each capability (disputes, catalogue, collaboration)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

import pytest
from eth_account import Account

from datagora.compute.policy import ComputePolicy, default_policy
from datagora.compute.spec import JobSpec, open_signed_spec, sign_spec
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.collaboration import Role
from datagora.domain.errors import NotCanonicalJSON
from datagora.query import UsagePolicy
from datagora.query.spec import QuerySpec
from datagora.services import collaboration, disputes, streams
from datagora.services.federated import FederatedSpec

TEXT = "Zürich café — 東京"
COMPUTE_JOBS = "0x" + "c0" * 20
CUSTOMER = "0x" + "ab" * 20


def _sent(doc: Any) -> Any:
    """What the other side reads: the document as JSON text with ASCII escapes (the usual HTTP form)."""
    text = json.dumps(doc)
    assert TEXT not in text or not text.isascii()
    return json.loads(text)


def test_query_spec_hash_is_the_same_on_the_buyers_and_the_owners_node() -> None:
    doc = {
        "select": [{"column": TEXT}, {"aggregate": "avg", "column": "amount", "as": "moyenne"}],
        "where": [{"column": "amount", "op": ">=", "value": 2.5}, {"column": TEXT, "op": "=", "value": TEXT}],
        "group_by": [TEXT],
    }
    buyer = QuerySpec.from_dict(doc)
    owner = QuerySpec.from_dict(_sent(buyer.to_dict()))
    assert owner.query_hash() == buyer.query_hash() == keccak256(canonical_json(buyer.to_dict()))
    assert TEXT.encode() in buyer.canonical_bytes() and b"2.5" in buyer.canonical_bytes()


def test_use_right_policy_hash_is_the_same_read_back_from_its_json_ld() -> None:
    policy = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:zurich",
        assigner="did:pkh:eip155:1:0x00000000000000000000000000000000000000A1",
        target="urn:datagora:dataset:7",
        columns=(TEXT, "amount"),
        prohibited_columns=("ssn",),
        epsilon_per_query=0.25,
        value_ranges={"amount": (0.5, 99.5)},
    )
    read = UsagePolicy.from_jsonld(_sent(policy.to_jsonld()))
    assert read.policy_hash() == policy.policy_hash() == keccak256(canonical_json(policy.to_jsonld()))
    assert TEXT.encode() in policy.canonical_bytes()


def test_compute_policy_hash_is_the_same_read_back_from_its_json_ld() -> None:
    policy = default_policy(
        "0x00000000000000000000000000000000000000A1",
        7,
        prohibited_columns=frozenset({TEXT}),
        epsilon_per_job=0.5,
        privacy_budget=2.5,
    )
    read = ComputePolicy.from_json(json.dumps(policy.to_jsonld()))
    assert read.policy_hash() == policy.policy_hash()
    assert "café — 東京".encode() in policy.canonical_bytes() and b":2.5}" in policy.canonical_bytes()


def test_signed_compute_spec_opens_on_the_owners_node_with_the_same_hashes() -> None:
    requester = Account.create()
    spec = JobSpec(
        token_id=3,
        estimator="LogisticRegression",
        features=(TEXT, "amount"),
        label="outcome",
        params={"C": 0.5},
        test_fraction=0.3,
    )
    signed = sign_spec(requester.key, requester.address, 31337, COMPUTE_JOBS, spec)
    sent = signed.to_bytes()
    assert TEXT.encode() in sent and sent == canonical_json(json.loads(sent))
    for received in (sent, json.dumps(json.loads(sent)).encode()):  # as written, and re-escaped on the way
        opened = open_signed_spec(received, 31337, COMPUTE_JOBS)
        assert opened.spec.body_hash() == spec.body_hash() and opened.spec_hash == signed.spec_hash


def test_federated_spec_hash_is_the_same_for_requester_and_owner() -> None:
    spec = FederatedSpec(label=TEXT, positive_label="oui — 是", rounds=3)
    owners_copy = FederatedSpec(**_sent(asdict(spec)))
    assert owners_copy.hash == spec.hash == keccak256(canonical_json(asdict(spec)))
    assert TEXT.encode() in spec.canonical()


def test_collaboration_terms_read_from_the_event_text_hash_to_the_recorded_hash() -> None:
    terms: dict[str, Any] = collaboration.build_terms(
        role=Role.DSP, title=TEXT, data="Messdaten", service="分析", stake_bps=2500
    )
    terms["datagora:share"] = 0.25
    text = collaboration.terms_text(terms)  # what the event carries
    assert TEXT in text and collaboration.terms_hash(json.loads(text)) == collaboration.terms_hash(terms)
    assert collaboration.terms_hash(_sent(terms)) == keccak256(text.encode())
    with pytest.raises(NotCanonicalJSON, match=r"NaN at \$\['datagora:share'\]"):
        collaboration.terms_text({**terms, "datagora:share": math.nan})


def test_stream_documents_are_canonical_and_refuse_nan() -> None:
    home = {"@type": "Place", "name": TEXT, "geo": {"@type": "GeoCoordinates", "latitude": 47.37, "longitude": 8.54}}
    docs = streams.profile_documents(CUSTOMER, [{"orderNumber": "Z-1", "product": TEXT}], {"homeLocation": home})
    for doc in docs.values():  # what a partner decrypts, re-serialised, is what was encrypted
        assert TEXT.encode() in doc and canonical_json(_sent(json.loads(doc))) == doc
    assert b'"latitude":47.37' in docs[streams.DEMOGRAPHICS]
    nan_home = {**home, "geo": {"latitude": math.nan}}
    with pytest.raises(NotCanonicalJSON, match=r"NaN at \$\.homeLocation\.geo\.latitude"):
        streams.profile_documents(CUSTOMER, demographics={"homeLocation": nan_home})


def test_dispute_evidence_hash_is_recomputed_from_the_document() -> None:
    evidence = {"order_id": 4, "section": "IV.A.3", "similarity": 0.8125, "content_match": True, "ruling": "FOR_SELLER"}
    assert (
        disputes.evidence_hash(_sent(evidence))
        == disputes.evidence_hash(evidence)
        == keccak256(canonical_json(evidence))
    )
    with pytest.raises(NotCanonicalJSON, match="NaN at \\$\\.similarity"):
        disputes.evidence_hash({**evidence, "similarity": math.nan})
