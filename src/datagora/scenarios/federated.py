"""Federated learning across hospitals (Wang and Liu, EntDSM: the model travels to the data, only results come
back, every step on chain): the Breast Cancer Wisconsin table is split row-wise across three hospitals and a small
practice; a research lab trains one diagnosis model on all of it without any row leaving its owner.

Each owner publishes its partition; the lab submits one federated job per dataset (payment in escrow); the three
hospitals accept it under their terms, the practice rejects it (too few rows for its terms). Flower then runs with
real processes on this machine: a SuperLink for the lab and a SuperNode per owner, the practice's included, all
over TLS; the lab registers with Flower only the node keys of the owners who accepted, so the practice's node is
refused. Each round's aggregate hash goes on chain once for the run; the hospitals post the final model's hash
and the lab confirms, which pays them. The lab measures the model on its own held-out rows against training the
same estimator on the pooled rows.

:func:`run` plays it. No printing: every step is a :class:`~datagora.scenarios.records.Step` passed to
``on_step``.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from eth_account import Account

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.compute import JobState
from datagora.domain.models import OrgStatus, TxResult
from datagora.federated import federation
from datagora.federated.environment import FlowerEnvironment
from datagora.federated.parameters import decode
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import deployment, publishing, registry
from datagora.services import federated as service
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv

StepHook = Callable[[Step], None]

HOSPITALS: Final = {
    "st-marys": "St Mary's Hospital",
    "northside": "Northside Clinic",
    "riverside": "Riverside Cancer Centre",
}
"""The owners that accept the job, by label."""
PRACTICE: Final = ("harbour", "Harbour Practice")
"""A small owner whose compute policy refuses the job (its partition is under the policy's 50 rows minimum)."""
PRACTICE_ROWS: Final = 40
TEST_SHARE: Final = 0.2
"""Share of the rows the lab keeps as its own labelled test set."""
PAYMENT: Final = WEI // 20
"""What the lab pays each owner, in wei."""
SPEC: Final = service.FederatedSpec(label="diagnosis", positive_label="malignant", rounds=3, local_epochs=10)
TOLERANCE: Final = 0.02
"""How far (share of test rows) the federated model may fall behind centralised training."""


@dataclass
class AccuracyRow:
    """One line of the accuracy table: how the model was trained and its accuracy (0..1) on the lab's test rows."""

    training: str
    accuracy: float


@dataclass
class FederatedDemo:
    """A run: its record, the accuracy table, the run itself (rounds, model, Flower timings) and the job ids by
    owner label."""

    scenario: ScenarioResult
    table: list[AccuracyRow]
    run: service.FederatedRun
    jobs: dict[str, int]
    contracts: Contracts
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.scenario.ok

    @property
    def federated_accuracy(self) -> float:
        return self.table[0].accuracy

    @property
    def centralised_accuracy(self) -> float:
        return self.table[1].accuracy


def split_rows(source: Path, target: Path, *, seed: int = 13) -> dict[str, Path]:
    """Shuffle ``source``'s rows (fixed ``seed``) and write the lab's test set (``test``), the practice's
    :data:`PRACTICE_ROWS` rows and three equal hospital partitions as CSV files under ``target``."""
    with source.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for r in reader if r]
    random.Random(seed).shuffle(rows)
    n_test = round(len(rows) * TEST_SHARE)
    parts = {"test": rows[:n_test], PRACTICE[0]: rows[n_test : n_test + PRACTICE_ROWS]}
    rest = rows[n_test + PRACTICE_ROWS :]
    for i, label in enumerate(HOSPITALS):
        parts[label] = rest[i :: len(HOSPITALS)]
    target.mkdir(parents=True, exist_ok=True)
    files = {}
    for label, part in parts.items():
        path = target / f"{label}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(part)
        files[label] = path
    return files


def run(
    chain: Chain,
    workdir: Path,
    *,
    fund_wei: int = 10 * WEI,
    env: FlowerEnvironment | None = None,
    timeout: float = federation.DEFAULT_TIMEOUT,
    on_step: StepHook = lambda s: None,
    on_progress: Callable[[str], None] = lambda _: None,
) -> FederatedDemo:
    """Play the story on ``chain`` with fresh accounts and contracts; data files and Flower's logs under
    ``workdir``. Raises ``ComputationFailed`` when the federated run fails (every process is stopped) and
    ``ChainError`` / ``TransactionReverted`` on chain failures; outcome checks are recorded, not raised."""
    result = ScenarioResult("federated", "Federated learning across hospitals", "TRAINED")

    def step(actor: str, name: str, action: str, *txs: TxResult) -> None:
        record = Step(actor, name, action, tuple(txs))
        result.steps.append(record)
        on_step(record)

    owners = {**HOSPITALS, PRACTICE[0]: PRACTICE[1]}
    labels = ["supervisor", "platform", "lab", *owners]
    people = {label: Participant(label, Account.create(), workdir / "people" / label) for label in labels}
    for p in people.values():
        chain.fund(p.address, fund_wei)
    contracts = deployment.deploy(chain, people["supervisor"].account, people["platform"].account)
    step("supervisor", "deploy", f"deployed the contracts, ComputeJobs at {contracts.compute_jobs.address}")
    names = {"platform": "Datagora Platform", "lab": "Blue Research Lab", **owners}
    for label, name in names.items():
        org, tx = registry.register_organisation(contracts, people[label], name)
        _, audit = registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
        step(label, f"join {label}", f"registered {name!r}, audited by the supervisor", tx, audit)

    files = split_rows(write_breast_cancer_csv(workdir / "source" / "breast_cancer.csv"), workdir / "data")
    attestor = NoveltyAttestor(contracts, people["platform"].account, people["platform"].paths.data_contract)
    tokens: dict[str, int] = {}
    for label, name in owners.items():
        owner = people[label]
        prepared = publishing.prepare(owner, files[label], name=f"{name}: breast tumour measurements", domain="health")
        tokens[label], _, tx = publishing.publish(contracts, owner, prepared, attestor)
        step(
            label, f"publish {label}", f"published its {_count(files[label])} patients as dataset #{tokens[label]}", tx
        )

    lab = people["lab"].account
    job_ids, submitted = service.submit(contracts, lab, list(tokens.values()), SPEC, PAYMENT)
    jobs = {label: job_ids[tokens[label]] for label in owners}
    step(
        "lab",
        "submit",
        f"asked the {len(jobs)} owners to train a logistic regression together ({SPEC.rounds} rounds), "
        f"{amount(PAYMENT)} each in escrow: jobs {', '.join(f'#{j}' for j in jobs.values())}",
        *submitted,
    )
    for label in owners:  # every owner's default compute policy: at least 50 rows, no raw rows
        review = service.review(contracts, people[label].account, jobs[label], SPEC, files[label])
        verdict = "accepted the job" if review.accepted else f"rejected the job: {review.reason}"
        step(label, f"review {label}", f"checked job #{jobs[label]} against its terms and {verdict}", review.tx)

    invitations = [service.Invitation(jobs[label], people[label].address, files[label]) for label in owners]
    flower = service.run(
        contracts,
        lab,
        invitations,
        SPEC,
        workdir / "flower",
        env=env,
        timeout=timeout,
        on_progress=on_progress,
        on_round=lambda r: step(
            "lab",
            f"round {r.number}",
            f"round {r.number} averaged ({r.seconds:.0f} s into the run); its hash 0x{r.hash.hex()[:16]}… recorded "
            f"once for the run, on job #{r.job_id}",
            *r.txs,
        ),
    )
    result.outcome = "TRAINED"
    step(
        "flower",
        "run",
        f"a SuperLink and {len(owners)} SuperNodes ran {len(flower.rounds)} rounds over TLS; "
        f"{len(flower.outcome.owners)} owners trained, refused by Flower (node key not registered): "
        f"{', '.join(flower.refused) or 'nobody'}",
    )
    for label in HOSPITALS:
        txs = service.settle(contracts, people[label].account, lab, jobs[label], flower.model)
        step(label, f"settle {label}", "posted the final model's hash; the lab confirmed and the owner is paid", *txs)

    outcome = flower.outcome
    table = [
        AccuracyRow(
            f"federated, {len(HOSPITALS)} hospitals, {SPEC.rounds} rounds",
            service.accuracy(flower.model, outcome.mean, outcome.scale, files["test"], SPEC),
        ),
        AccuracyRow(
            "centralised on the same rows pooled",
            service.centralised_accuracy([files[h] for h in HOSPITALS], files["test"], SPEC),
        ),
        *(
            AccuracyRow(f"{name} alone", service.centralised_accuracy([files[label]], files["test"], SPEC))
            for label, name in HOSPITALS.items()
        ),
    ]
    _checks(result, contracts, flower, jobs, people, table)
    return FederatedDemo(result, table, flower, jobs, contracts, files)


def _count(path: Path) -> int:
    with path.open(newline="") as fh:
        return sum(1 for row in csv.reader(fh) if row) - 1


def _checks(
    result: ScenarioResult,
    contracts: Contracts,
    flower: service.FederatedRun,
    jobs: dict[str, int],
    people: dict[str, Participant],
    table: list[AccuracyRow],
) -> None:
    def check(description: str, passed: bool) -> None:
        result.checks.append(Check(description, passed))

    federated, central = table[0].accuracy, table[1].accuracy
    check(
        f"federated accuracy {federated:.1%} within {TOLERANCE:.0%} of centralised {central:.1%}",
        federated >= central - TOLERANCE,
    )
    files = {r.number: r for r in flower.outcome.rounds}
    for label in HOSPITALS:
        on_chain = service.recorded_rounds(contracts, jobs[label])
        check(
            f"every round's aggregate hash is on chain for {label}'s job #{jobs[label]}",
            [n for n, _ in on_chain] == list(range(1, SPEC.rounds + 1))
            and all(h == decode(files[n].file.read_bytes()).hash for n, h in on_chain),
        )
        check(
            f"{label}'s job is completed and the owner can withdraw its payment",
            contracts.compute_jobs.job(jobs[label]).state == JobState.COMPLETED
            and contracts.compute_jobs.pending(people[label].address) >= PAYMENT,
        )
    recorded = [e for e in contracts.events() if e.contract == "ComputeJobs" and e.name == "FederatedRound"]
    check(
        f"each round recorded once for the whole run ({len(recorded)} transactions for {SPEC.rounds} rounds)",
        len(recorded) == SPEC.rounds,
    )
    practice = people[PRACTICE[0]].address.lower()
    check(
        "the practice, which did not accept, took no part in training",
        practice in flower.refused and practice not in flower.outcome.owners,
    )
    check(
        "the practice's job is rejected and nothing was recorded on it",
        contracts.compute_jobs.job(jobs[PRACTICE[0]]).state == JobState.REJECTED
        and not service.recorded_rounds(contracts, jobs[PRACTICE[0]]),
    )
