"""Differentially private answers without a chain: the policy's privacy terms (ODRL, Datagora profile), the plan
and noise of an answer, what an answer states and hashes, refusals that do not depend on the data, the group
threshold, and the owner's privacy ledger."""

from __future__ import annotations

import copy
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from datagora.domain.errors import AccessDenied, ValidationError
from datagora.query import QueryResult, QueryRunner, QuerySpec, UsagePolicy, privacy
from datagora.services.sample_data import write_diabetes_csv
from datagora.services.use_rights import rounded_ranges
from datagora.storage.privacy_ledger import BudgetExceeded, PrivacyLedger

RANGES = {"progression": (25.0, 350.0), "bmi": (18.0, 43.0)}


def policy(**terms: Any) -> UsagePolicy:
    fields: dict[str, Any] = {"uid": "urn:p", "assigner": "did:example:a", "target": "urn:d", "value_ranges": RANGES}
    return UsagePolicy.aggregates_only(**(fields | terms))


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_diabetes_csv(tmp_path_factory.mktemp("dp") / "diabetes.csv")


@pytest.fixture(scope="module")
def runner(diabetes: Path) -> Any:
    with QueryRunner(diabetes) as r:
        yield r


# -- policy terms --------------------------------------------------------------------------------------------------


def test_privacy_terms_are_odrl_constraints_and_round_trip() -> None:
    terms = policy(epsilon_per_query=0.5, privacy_budget=4, value_ranges={**RANGES, "s5": (0.1, 6.2)})
    [permission] = terms.to_jsonld()["permission"]
    constraints = {c["leftOperand"]: c for c in permission["constraint"]}
    assert constraints["datagora:answerForm"]["rightOperand"] == {"@id": "datagora:differentialPrivacy"}
    assert (
        constraints["datagora:epsilonPerQuery"]["operator"],
        constraints["datagora:epsilonPerQuery"]["rightOperand"],
    ) == (
        "lteq",
        0.5,
    )
    assert constraints["datagora:privacyBudget"]["rightOperand"] == 4.0
    assert constraints["datagora:valueRange"]["rightOperand"] == [
        "bmi [18, 43]",
        "progression [25, 350]",
        "s5 [0.1, 6.2]",
    ]
    back = UsagePolicy.from_jsonld(terms.to_jsonld())
    assert back == terms and back.policy_hash() == terms.policy_hash()
    assert back.value_range("BMI") == (18.0, 43.0) and back.value_range("age") is None

    exact = policy(exact_answers=True, value_ranges={})
    [permission] = exact.to_jsonld()["permission"]
    assert {
        "leftOperand": "datagora:answerForm",
        "operator": "eq",
        "rightOperand": {"@id": "datagora:exactAnswers"},
    } in (permission["constraint"])
    assert not any(c["leftOperand"] == "datagora:epsilonPerQuery" for c in permission["constraint"])
    assert UsagePolicy.from_jsonld(exact.to_jsonld()) == exact
    assert policy(exact_answers=True, privacy_budget=3) == exact  # privacy terms mean nothing for exact answers
    assert exact.policy_hash() != policy(value_ranges={}).policy_hash()  # the answer form is committed on chain


def test_differential_privacy_is_the_default_of_a_policy_that_says_nothing() -> None:
    doc = policy(value_ranges={}).to_jsonld()
    [permission] = doc["permission"]
    permission["constraint"] = [c for c in permission["constraint"] if not c["leftOperand"].startswith("datagora:")]
    parsed = UsagePolicy.from_jsonld(doc)
    assert parsed.differential_privacy and (parsed.epsilon_per_query, parsed.privacy_budget) == (1.0, 10.0)
    typed = copy.deepcopy(doc)
    typed["permission"][0]["constraint"].append(
        {
            "leftOperand": "datagora:epsilonPerQuery",
            "operator": "lteq",
            "rightOperand": {"@value": "0.25", "@type": "xsd:decimal"},
        }
    )
    assert UsagePolicy.from_jsonld(typed).epsilon_per_query == 0.25


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"leftOperand": "datagora:epsilonPerQuery", "operator": "lteq", "rightOperand": 0}, "above 0"),
        ({"leftOperand": "datagora:epsilonPerQuery", "operator": "gteq", "rightOperand": 1}, "needs operator 'lteq'"),
        ({"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": 0.5}, "at least the epsilon"),
        ({"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": "lots"}, "finite number"),
        (
            {"leftOperand": "datagora:valueRange", "operator": "isAnyOf", "rightOperand": ["bmi 18-43"]},
            "is not 'column",
        ),
        ({"leftOperand": "datagora:valueRange", "operator": "isAnyOf", "rightOperand": ["bmi [43, 18]"]}, "low < high"),
        (
            {"leftOperand": "datagora:answerForm", "operator": "eq", "rightOperand": {"@id": "datagora:noisy"}},
            "differentialPrivacy or datagora:exactAnswers",
        ),
    ],
)
def test_malformed_privacy_terms_are_refused(constraint: dict[str, Any], message: str) -> None:
    doc = policy(value_ranges={}).to_jsonld()
    [permission] = doc["permission"]
    permission["constraint"] = [c for c in permission["constraint"] if c["leftOperand"] != constraint["leftOperand"]]
    permission["constraint"].append(constraint)
    with pytest.raises(ValidationError, match=message):
        UsagePolicy.from_jsonld(doc)


def test_exact_answers_take_no_privacy_terms_and_raw_rows_need_them() -> None:
    doc = policy(exact_answers=True, value_ranges={}).to_jsonld()
    doc["permission"][0]["constraint"].append(
        {"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": 5}
    )
    with pytest.raises(ValidationError, match="exact answers takes no epsilon"):
        UsagePolicy.from_jsonld(doc)
    with pytest.raises(ValidationError, match="raw rows cannot be answered with differential privacy"):
        UsagePolicy(uid="urn:p", assigner="did:example:a", target="urn:d", raw_rows=True)


def test_ranges_derived_for_a_listing_are_widened_outward() -> None:
    assert rounded_ranges(
        {"bmi": (18.0, 42.2), "progression": (25, 346), "s5": (3.2581, 6.107), "z": (-0.5, 0.0), "c": (7, 7)}
    ) == {
        "bmi": (18.0, 43.0),
        "progression": (25.0, 350.0),
        "s5": (3.2, 6.2),
        "z": (-0.5, 0.0),
        "c": (7.0, 8.0),  # a constant column: one unit wide
    }


# -- answers -------------------------------------------------------------------------------------------------------


def test_an_answer_states_its_noise_and_the_hash_binds_it(runner: QueryRunner) -> None:
    spec = QuerySpec.from_dict(
        {
            "select": ["sex", {"aggregate": "count"}, {"aggregate": "avg", "column": "bmi"}],
            "group_by": ["sex"],
            "order_by": [{"key": "count(*)", "descending": True}],
        }
    )
    result = runner.run(spec, policy())
    assert set(result.to_dict()) == {"columns", "rows", "truncated", "privacy"}  # no count of withheld groups
    stated = result.privacy
    assert stated is not None and (stated["mechanism"], stated["epsilon"], stated["delta"]) == ("laplace", 1.0, 1e-6)
    assert (stated["group_threshold"], stated["group_count_scale"]) == (privacy.group_threshold(3.0, 5), 3.0)
    # three measurements share epsilon 1: the groups' count, the bmi sum and the bmi count
    assert stated["noise"]["count(*)"] == {
        "mechanism": "discrete laplace",
        "epsilon": pytest.approx(1 / 3),
        "scale": 3.0,
    }
    avg = stated["noise"]["avg(bmi)"]
    assert (avg["scale"], avg["count_scale"], avg["range"]) == (43.0 * 3, 3.0, [18.0, 43.0])
    assert sum(n["epsilon"] for n in stated["noise"].values()) == pytest.approx(1.0)
    assert [row[1] for row in result.rows] == sorted((row[1] for row in result.rows), reverse=True)
    for _, count, mean in result.rows:
        assert isinstance(count, int) and abs(count - 220) < 100 and 18.0 <= mean <= 43.0

    assert QueryResult.from_dict(result.to_dict()) == result
    for altered in ({**stated, "epsilon": 0.1}, {**stated, "noise": {}}, None):
        assert QueryResult(result.columns, result.rows, result.truncated, altered).result_hash() != result.result_hash()


def test_refusals_do_not_depend_on_the_data(tmp_path: Path, diabetes: Path) -> None:
    other = tmp_path / "other.csv"
    lines = diabetes.read_text().splitlines()
    other.write_text("\n".join(lines[:3]) + "\n")  # two rows instead of 442
    messages = []
    for path in (diabetes, other):
        with QueryRunner(path) as r:
            found = []
            for doc, terms in (
                ({"select": [{"aggregate": "max", "column": "bmi"}]}, policy(aggregates=("count", "max"))),
                ({"select": [{"aggregate": "sum", "column": "age"}]}, policy()),
                ({"select": [{"aggregate": "avg", "column": "s1"}], "where": [["sex", "=", 1]]}, policy()),
            ):
                with pytest.raises(AccessDenied) as refused:
                    r.run(QuerySpec.from_dict(doc), terms)
                found.append(str(refused.value))
            messages.append(found)
    assert messages[0] == messages[1]
    assert messages[0][0] == "policy: aggregate 'max' is not answered with differential privacy (one row decides it)"
    assert messages[0][1] == "policy: no value range declared for column 'age': sums and averages need one"


def test_a_group_of_one_is_not_shown_and_large_groups_are(runner: QueryRunner) -> None:
    one = QuerySpec.from_dict(
        {"select": ["sex", {"aggregate": "count"}], "where": [["bmi", "=", 33.5]], "group_by": ["sex"]}
    )
    everyone = QuerySpec.from_dict(
        {"select": ["sex", {"aggregate": "count"}], "group_by": ["sex"], "order_by": ["sex"]}
    )
    for _ in range(50):
        assert runner.run(one, policy()).rows == ()
        assert [row[0] for row in runner.run(everyone, policy()).rows] == [1, 2]


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0, 10.0])
def test_group_threshold_bounds_the_chance_of_showing_a_one_row_group(scale: float) -> None:
    tau = privacy.group_threshold(scale, 5)
    alpha = math.exp(-1 / scale)
    shown = alpha ** (tau - 1) / (1 + alpha)  # P(1 + Z >= tau) for discrete Laplace Z
    assert shown <= privacy.GROUP_DELTA and tau >= 5
    assert alpha ** (tau - 2) / (1 + alpha) > privacy.GROUP_DELTA or tau == 5  # and it is the smallest such


def test_counts_are_noisy_and_unbiased(runner: QueryRunner) -> None:
    count = QuerySpec.from_dict({"select": [{"aggregate": "count"}]})
    answers = [runner.run(count, policy()).rows[0][0] for _ in range(400)]
    assert len(set(answers)) > 3  # noise, not a fixed answer
    mean = sum(answers) / len(answers)
    # discrete Laplace of scale 1: variance 2e/(e-1)**2 ≈ 1.84; 400 answers: the mean's sd ≈ 0.07, 8 sd below 0.6
    assert abs(mean - 442) < 0.6


# -- ledger --------------------------------------------------------------------------------------------------------


def test_ledger_spends_persists_and_refuses_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ledger = PrivacyLedger(path)
    for _ in range(10):
        ledger.spend("7", "organisation:1", 0.1, 0.0, 1.0)  # ten of 0.1 fit a budget of 1
    with pytest.raises(BudgetExceeded) as exceeded:
        ledger.spend("7", "organisation:1", 0.1, 0.0, 1.0)
    assert exceeded.value.spent.answers == 10
    again = PrivacyLedger(path)  # another process reading the same file
    assert again.spent("7", "organisation:1").epsilon == pytest.approx(1.0)
    assert again.spent("7", "organisation:2").answers == 0 and again.spent("8", "organisation:1").answers == 0
    assert again.spend("7", "organisation:1", 0.0, 1e-6, 1.0).delta == 1e-6


def test_ledger_never_overspends_under_concurrent_answers(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "ledger.json")
    granted: list[int] = []

    def spend_many() -> None:
        for _ in range(10):
            try:
                ledger.spend("1", "account:0xabc", 1.0, 0.0, 25.0)
                granted.append(1)
            except BudgetExceeded:
                pass

    threads = [threading.Thread(target=spend_many) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 25 and ledger.spent("1", "account:0xabc").epsilon == 25.0
