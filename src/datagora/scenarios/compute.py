"""Compute-to-data on real data (Wang and Liu, EntDSM, the case study: the bank's data never leaves the bank; the
e-commerce company sends its model and gets only the result back).

The seller (Acme Data, the owner) publishes scikit-learn's breast cancer table and keeps its default compute
policy (declarative algorithms only, parameters, metrics and aggregates, at least 50 rows, no raw rows, results up to
64 KiB, automatic approval). The buyer (Blue Research, the requester) pays 0.05 ETH into escrow for a logistic
regression on ten measurements; the owner's node checks the job against the policy, accepts it, trains on its own
copy, keeps a quarter of the rows to measure the model and sends back only the coefficients and the hold-out
accuracy, encrypted to the buyer, with the result's hash on chain; the buyer checks the hash and confirms, the owner
is paid. A second job asks for the hold-out predictions, one value per row of the owner's data: the node refuses it
automatically, naming the rule, and the buyer gets its payment back.

:func:`run` plays it on fresh contracts (reusing the trade scenario's setup). No printing: every step is a
:class:`~datagora.scenarios.records.Step` passed to ``on_step`` and kept in the returned record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagora.compute.spec import JobSpec
from datagora.domain.compute import JobState
from datagora.scenarios import trade
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import audit, publishing
from datagora.services import compute as service
from datagora.services.sample_data import write_breast_cancer_csv

StepHook = Callable[[Step], None]

PRICE = WEI // 20
"""What the requester pays per job, in wei (0.05 ETH)."""
FEATURES = (
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
)
LABEL = "diagnosis"


@dataclass
class ComputeDemo:
    """A run: the setup's and the jobs' records, the dataset's token id, the job ids (``model``, ``refused``), the
    result the requester decrypted, and the audit lines about compute jobs."""

    setup: ScenarioResult
    scenario: ScenarioResult
    token_id: int
    jobs: dict[str, int]
    result: dict[str, Any]
    trail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.scenario.ok


def model_spec(token_id: int, **overrides: Any) -> JobSpec:
    """The requester's logistic regression on the ten ``mean`` measurements, parameters and hold-out metrics."""
    fields: dict[str, Any] = {
        "token_id": token_id,
        "estimator": "LogisticRegression",
        "features": FEATURES,
        "label": LABEL,
        "params": {"C": 1.0, "max_iter": 2000},
        "outputs": ("parameters", "metrics"),
        "seed": 7,
    }
    fields.update(overrides)
    return JobSpec(**fields)


def run(chain: Any, workdir: Path, *, on_step: StepHook = lambda s: None) -> ComputeDemo:
    """Play the story on ``chain`` with the participants' stores under ``workdir``. Raises ``ChainError`` /
    ``TransactionReverted`` on chain failures."""
    stage = trade.setup(chain, workdir, on_step=on_step)
    c = stage.contracts
    owner, requester = stage.people["seller"], stage.people["buyer"]
    exchange = service.DirectoryExchange(workdir / "exchange")
    result = ScenarioResult("compute", "A model runs on the owner's data; only its result comes back", "COMPLETED")

    def step(actor: str, name: str, action: str, *txs: Any) -> None:
        record = Step(actor, name, action, tuple(txs))
        result.steps.append(record)
        on_step(record)

    table = write_breast_cancer_csv(workdir / "tumours.csv")
    prepared = publishing.prepare(owner, table, name="Breast tumour measurements", domain="health")
    token_id, _, tx = publishing.publish(c, owner, prepared, stage.attestor)
    step("seller", "publish", f"published {table.name} as dataset #{token_id}; the rows stay in its own store", tx)
    policy = service.compute_policy(c, owner, token_id)
    service.set_compute_policy(owner, token_id, policy)
    step(
        "seller",
        "policy",
        f"compute policy: {', '.join(sorted(policy.allowed_outputs))} only, at least {policy.min_rows} rows, "
        f"no raw rows, results up to {policy.max_model_bytes // 1024} KiB, approved automatically",
    )

    submitted = service.submit_job(c, requester, model_spec(token_id), PRICE, exchange)
    step(
        "buyer",
        "submit",
        f"signed a logistic-regression job, encrypted it to the seller and paid {amount(PRICE)} into escrow "
        f"(job {submitted.job_id})",
        submitted.tx,
    )
    decision = service.decide(c, owner, submitted.job_id, exchange)
    step("seller", "accept", "checked the job against its policy: inside it, accepted automatically", decision.tx)
    ran = service.run_job(c, owner, submitted.job_id, exchange)
    step(
        "seller",
        "run",
        f"trained on its own copy in {ran.seconds:.1f} s and posted the hash of the result, encrypted to the buyer",
        ran.tx,
    )
    got = service.fetch_result(c, requester, submitted.job_id, exchange)
    metrics = got["result"]["metrics"]
    step(
        "buyer",
        "result",
        f"checked the result against the hash on chain: {len(got['result']['parameters']['coef'][0])} "
        f"coefficients, hold-out accuracy {metrics['accuracy']:.1%} on {metrics['rows']} rows it never saw",
    )
    tx = service.confirm_result(c, requester, submitted.job_id)
    step("buyer", "confirm", f"confirmed the result: the seller is owed {amount(PRICE)}", tx)

    refused = service.submit_job(
        c,
        requester,
        model_spec(token_id, outputs=("predictions",), estimator="DecisionTreeClassifier", params={}),
        PRICE,
        exchange,
    )
    step(
        "buyer", "submit 2", f"asked for the hold-out predictions of a decision tree (job {refused.job_id})", refused.tx
    )
    decision = service.decide(c, owner, refused.job_id, exchange)
    step("seller", "refuse", f"refused it automatically: {decision.reason}", decision.tx)

    tx_owner = c.compute_jobs.withdraw(owner.account)
    tx_requester = c.compute_jobs.withdraw(requester.account)
    step(
        "everyone",
        "withdraw",
        f"the seller took {amount(PRICE)}, the buyer its {amount(PRICE)} refund",
        tx_owner,
        tx_requester,
    )

    first, second = c.compute_jobs.job(submitted.job_id), c.compute_jobs.job(refused.job_id)
    result.outcome = first.state.name
    lines = [r.detail for r in audit.audit_trail(c) if r.contract == "ComputeJobs"]
    result.checks += [
        Check("the model's hold-out accuracy is above 85 %", float(metrics["accuracy"]) > 0.85),
        Check("the refused job names the raw-row rule", "raw rows" in decision.reason),
        Check("the refused job was refunded", second.state == JobState.REJECTED),
        Check("ComputeJobs holds nothing in escrow", c.compute_jobs.escrowed() == 0),
        Check("the supervisor's audit trail shows both jobs", sum("compute job" in line for line in lines) >= 4),
    ]
    result.ids = {"token": token_id, "job": submitted.job_id, "refused job": refused.job_id}
    return ComputeDemo(
        stage.setup, result, token_id, {"model": submitted.job_id, "refused": refused.job_id}, got, lines
    )
