"""The job spec (validation, canonical form, EIP-712 signature) and the owner's ODRL compute policy (round trip,
the automatic check naming each rule). Pure Python: no chain, no scikit-learn."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from eth_account import Account

from datagora.compute.policy import ComputePolicy, default_policy
from datagora.compute.spec import JobSpec, open_signed_spec, sign_spec
from datagora.domain.errors import ValidationError

CHAIN_ID, JOBS = 31337, "0x" + "12" * 20
COLUMNS = ("age", "bmi", "bp", "progression", "ssn")


def spec(**overrides: Any) -> JobSpec:
    fields: dict[str, Any] = {
        "token_id": 3,
        "estimator": "Ridge",
        "features": ("age", "bmi", "bp"),
        "label": "progression",
        "params": {"alpha": 0.5},
    }
    fields.update(overrides)
    return JobSpec(**fields)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"estimator": "MLPClassifier"}, "unknown estimator 'MLPClassifier'"),
        ({"params": {"alpha": -1}}, "Ridge parameter 'alpha' must be between 0 and 1e+06"),
        ({"params": {"solver": "x"}}, "Ridge takes no parameter(s) ['solver']"),
        ({"params": {"alpha": True}}, "must be a number"),
        ({"features": ()}, "features must list 1 to 256 columns"),
        ({"label": None}, "Ridge needs a label column"),
        ({"label": "age"}, "the label cannot also be a feature"),
        ({"outputs": ("everything",)}, "outputs must be a non-empty list"),
        ({"test_fraction": 0.9}, "test_fraction must be between 0.1 and 0.5"),
        ({"epsilon": 0}, "epsilon must be above 0 and at most 10"),
        ({"code": "def run(t): return {}"}, "only a python job carries code"),
        ({"estimator": "python", "label": None, "params": {}}, "a python job needs its code"),
        ({"estimator": "KMeans", "params": {"n_clusters": 3}}, "KMeans takes no label column"),
    ],
)
def test_spec_refuses_bad_fields(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match="job spec: .*" + re.escape(words)):
        spec(**overrides)


def test_spec_round_trips_through_json() -> None:
    original = spec(epsilon=0.5, outputs=("parameters", "aggregates"))
    again = JobSpec.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original
    assert again.canonical_bytes() == original.canonical_bytes()
    assert spec().body_hash() != spec().body_hash()  # a fresh nonce each time


def test_signed_spec_verifies_and_names_its_signer() -> None:
    requester, stranger = Account.create(), Account.create()
    signed = sign_spec(bytes(requester.key), requester.address, CHAIN_ID, JOBS, spec())
    opened = open_signed_spec(signed.to_bytes(), CHAIN_ID, JOBS)
    assert opened.spec == signed.spec and opened.spec_hash == signed.spec_hash and len(signed.spec_hash) == 32
    forged = sign_spec(bytes(stranger.key), requester.address, CHAIN_ID, JOBS, spec())
    with pytest.raises(ValidationError, match="not by the requester"):
        open_signed_spec(forged.to_bytes(), CHAIN_ID, JOBS)
    with pytest.raises(ValidationError, match="not by the requester"):
        open_signed_spec(signed.to_bytes(), CHAIN_ID + 1, JOBS)  # another chain: another digest
    tampered = json.loads(signed.to_bytes())
    tampered["spec"]["params"]["alpha"] = 9.0
    with pytest.raises(ValidationError, match="not by the requester"):
        open_signed_spec(json.dumps(tampered).encode(), CHAIN_ID, JOBS)


def test_policy_round_trips_through_odrl_jsonld() -> None:
    policy = default_policy(
        "0x" + "ab" * 20,
        3,
        allowed_algorithms=frozenset({"Ridge", "python"}),
        dp_required=True,
        epsilon_per_job=0.5,
        privacy_budget=2.0,
        prohibited_columns=frozenset({"SSN"}),
        auto_approve=False,
        cpu_seconds=5,
    )
    doc = policy.to_jsonld()
    assert doc["@type"] == "Offer" and doc["profile"] == "urn:datagora:odrl:profile:compute-to-data"
    again = ComputePolicy.from_json(json.dumps(doc))
    assert again == policy
    assert again.policy_hash() == policy.policy_hash()
    doc["permission"][0]["constraint"].append({"leftOperand": "datagora:gpu", "operator": "eq", "rightOperand": 1})
    with pytest.raises(ValidationError, match="unsupported permission leftOperand"):
        ComputePolicy.from_jsonld(doc)


def rules(policy: ComputePolicy, job: JobSpec, rows: int = 442) -> list[str]:
    return [r.rule for r in policy.check(job, rows, COLUMNS)]


def test_a_job_inside_the_policy_breaks_no_rule() -> None:
    assert rules(default_policy("0x" + "ab" * 20, 3), spec()) == []


@pytest.mark.parametrize(
    ("job", "terms", "rule", "words"),
    [
        (
            spec(estimator="python", label=None, params={}, code="def run(t):\n    return {}"),
            {},
            "algorithm",
            "arbitrary Python",
        ),
        (spec(estimator="Lasso"), {"allowed_algorithms": frozenset({"Ridge"})}, "algorithm", "Lasso is not allowed"),
        (spec(outputs=("predictions",)), {}, "raw rows", "one value per row"),
        (spec(outputs=("aggregates",)), {"allowed_outputs": frozenset({"metrics"})}, "output", "aggregates"),
        (spec(features=("age", "ssn")), {"prohibited_columns": frozenset({"ssn"})}, "column", "ssn may not be read"),
        (spec(features=("age", "income")), {}, "column", "no column income"),
        (spec(), {"min_rows": 1000}, "minimum rows", "442 rows, fewer than the 1000"),
        (spec(), {"dp_required": True}, "differential privacy", "must be differentially private"),
        (spec(epsilon=2.0), {"epsilon_per_job": 1.0}, "epsilon", "at most 1 per job"),
    ],
)
def test_a_job_outside_the_policy_is_refused_with_the_rule(
    job: JobSpec, terms: dict[str, Any], rule: str, words: str
) -> None:
    refusals = default_policy("0x" + "ab" * 20, 3, **terms).check(job, 442, COLUMNS)
    assert [r.rule for r in refusals] == [rule]
    assert words in refusals[0].message
