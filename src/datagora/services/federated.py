"""Federated learning across several data owners, every step on chain (Wang and Liu, EntDSM: the requester's model
travels to the data, only results come back; here the owners train one model together with federated averaging).

A federated run is one ``ComputeJobs`` job per owner (kind ``FEDERATED``), all with the same spec hash:

1. :func:`submit` — the requester (an Audited organisation) submits a job for each owner's dataset, paying each
   owner into escrow; the spec (:class:`FederatedSpec`) is declarative and its Keccak-256 hash is on chain.
2. :func:`review` — each owner checks the job against its own terms (:class:`OwnerTerms`: its W3C ODRL compute
   policy, the one compute-to-data jobs are checked against, and a maximum of rounds) and accepts it on chain, or
   rejects it with the rule it broke.
3. :func:`run` — the requester runs FedAvg with Flower (:mod:`datagora.federated`): a SuperLink and one SuperNode per
   invited owner, over TLS, with Flower's SuperNode authentication; only the node keys of owners whose job is
   accepted on chain are registered, so only they train. Each round's aggregate hash is recorded once per run
   (``record_round``, event ``FederatedRound``) as soon as the round ends, on the run's lead job: the lowest
   accepted job id. The other accepted jobs of the run share its requester and spec hash, and
   :func:`recorded_rounds` finds the rounds of any of them there.
4. :func:`settle` — each owner posts the final model's hash as its job's result; the requester confirms and the
   escrow pays the owner.

Flower runs in its own Python environment, as subprocesses (its releases pin versions that would downgrade
Datagora's FastAPI, Starlette, Typer, Rich and cryptography; see :mod:`datagora.federated.environment`).
With ``secure_aggregation`` in the spec the rounds use Flower's SecAgg+ (Bell et al., CCS 2020): each owner masks
its update so the aggregator learns only the sum; without it the SuperLink sees each owner's parameters (sent
over TLS on 127.0.0.1).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.compute.policy import ComputePolicy, default_policy
from datagora.compute.spec import JobSpec
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.compute import ComputeJob, JobKind, JobState
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import TxResult
from datagora.federated import federation
from datagora.federated.credentials import NodeKey
from datagora.federated.environment import FlowerEnvironment
from datagora.federated.parameters import Parameters

ALGORITHMS: Final = ("LogisticRegression",)
"""Estimators the shipped Flower app trains (scikit-learn's, binary classification), named as in
:data:`datagora.compute.spec.ESTIMATORS`."""
OUTPUTS: Final = ("parameters",)
"""What leaves an owner in a federated run: model parameters and training metrics (never rows)."""


@dataclass(frozen=True)
class FederatedSpec:
    """What the requester asks the owners to train: ``algorithm`` (one of :data:`ALGORITHMS`), the ``label``
    column (the class is 1 where it equals ``positive_label``), ``rounds`` of FedAvg with ``local_epochs`` solver
    iterations per round on each owner, the ``output`` that leaves the owners (``parameters``), and whether the
    rounds use secure aggregation (Flower's SecAgg+: the aggregator sees only the sum of the owners' masked
    updates)."""

    label: str
    positive_label: str = ""
    algorithm: str = "LogisticRegression"
    rounds: int = 5
    local_epochs: int = 10
    output: str = "parameters"
    secure_aggregation: bool = False

    def canonical(self) -> bytes:
        """Canonical JSON (:func:`datagora.domain.canonical.canonical_json`): what :attr:`hash` covers."""
        return canonical_json(asdict(self))

    @property
    def hash(self) -> bytes:
        """Keccak-256 (32 bytes) of :meth:`canonical`: the jobs' ``spec_hash``."""
        return keccak256(self.canonical())

    def job_spec(self, token_id: int, columns: Sequence[str]) -> JobSpec:
        """The same job as a compute-to-data :class:`~datagora.compute.spec.JobSpec` on one owner's table with
        ``columns`` (every column but the label is a feature), so the owner's compute policy can check it.
        Raises :class:`ValidationError` when the table lacks the label."""
        if self.label not in columns:
            raise ValidationError(f"the data has no column {self.label!r} to predict")
        features = tuple(c for c in columns if c != self.label)
        return JobSpec(
            token_id=token_id,
            estimator=self.algorithm,
            features=features,
            label=self.label,
            params={"max_iter": self.local_epochs},
            outputs=(self.output, "metrics"),
            nonce=0,
        )

    @property
    def uri(self) -> str:
        """Where the spec is described (it holds no secret: the URI names its hash)."""
        return f"urn:datagora:federated-spec:0x{self.hash.hex()}"


@dataclass(frozen=True)
class OwnerTerms:
    """An owner's terms for federated jobs on one dataset: its W3C ODRL compute ``policy`` (the one compute-to-data
    jobs are checked against, :class:`~datagora.compute.policy.ComputePolicy`: allowed algorithms and outputs,
    minimum rows, prohibited columns, differential privacy) and at most ``max_rounds`` rounds."""

    policy: ComputePolicy
    max_rounds: int = 50

    def broken_rule(self, spec: FederatedSpec, token_id: int, rows: int, columns: Sequence[str]) -> str | None:
        """The first rule ``spec`` breaks on the owner's table (``rows`` rows, ``columns``), in plain words
        (``"minimum rows: the dataset has 40 rows, fewer than the 50 a job needs"``); None when it keeps them all.
        A policy that requires differential privacy refuses every federated job (the rounds carry exact
        parameters)."""
        if spec.rounds > self.max_rounds:
            return f"rounds: {spec.rounds} rounds asked, at most {self.max_rounds} allowed"
        refusals = self.policy.check(spec.job_spec(token_id, columns), rows, list(columns))
        return str(refusals[0]) if refusals else None


def default_terms(owner: str, token_id: int, chain_id: int = 1, *, max_rounds: int = 50, **policy: Any) -> OwnerTerms:
    """The owner's default terms: :func:`~datagora.compute.policy.default_policy` (``policy`` overrides its
    fields, e.g. ``min_rows=100``) and ``max_rounds``."""
    return OwnerTerms(default_policy(owner, token_id, chain_id, **policy), max_rounds)


@dataclass(frozen=True)
class Invitation:
    """One owner's part of a run: its ``job_id``, its address, the CSV file of its rows (which only the owner's
    SuperNode reads) and, optionally, the SuperNode key pair the owner made itself with the owner's signature of
    its public key (:func:`sign_node_key`). Without one, a key pair is made for the run on this machine."""

    job_id: int
    owner: str
    data_file: Path
    node_key: NodeKey | None = None
    node_key_signature: bytes = b""


def node_key_statement(contracts: Contracts, job_id: int, public_line: str) -> str:
    """The text an owner signs to vouch for a SuperNode public key (an OpenSSH line) for job ``job_id`` of this
    chain's ``ComputeJobs``."""
    return (
        f"Datagora federated learning: my SuperNode key for job {job_id} of ComputeJobs "
        f"{contracts.compute_jobs.address} on chain {contracts.chain.chain_id} is {public_line.strip()}"
    )


def sign_node_key(contracts: Contracts, owner: LocalAccount, job_id: int, key: NodeKey) -> bytes:
    """The owner's EIP-191 signature (65 bytes) of :func:`node_key_statement` for ``key``: what the requester
    checks against the job's owner on chain before registering the key with Flower."""
    text = node_key_statement(contracts, job_id, key.public_line)
    return bytes(owner.sign_message(encode_defunct(text=text)).signature)


def node_key_signer(contracts: Contracts, job_id: int, public_line: str, signature: bytes) -> str:
    """The address that signed :func:`node_key_statement` for ``public_line`` (EIP-191), or ``""`` when the
    signature is malformed."""
    from eth_keys.exceptions import BadSignature
    from eth_utils.exceptions import ValidationError as SignatureShapeError

    if len(signature) != 65:
        return ""
    try:
        text = node_key_statement(contracts, job_id, public_line)
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except (ValueError, TypeError, BadSignature, SignatureShapeError):
        return ""


@dataclass(frozen=True)
class Review:
    """An owner's decision on a job: accepted or not, the rule broken when not, and the transaction."""

    job_id: int
    accepted: bool
    reason: str
    tx: TxResult


@dataclass
class RecordedRound:
    """A round's aggregate and the ``record_round`` transaction that put its hash on chain, on the run's lead job
    ``job_id`` (one transaction per round and run)."""

    number: int
    hash: bytes
    seconds: float
    job_id: int = 0
    txs: list[TxResult] = field(default_factory=list)


@dataclass
class FederatedRun:
    """A finished run: the jobs that trained, the owners refused by the ServerApp, each round as recorded, the
    final model's parameters and the global feature scaling, and the Flower result (timings, metrics)."""

    jobs: list[int]
    refused: list[str]
    rounds: list[RecordedRound]
    model: Parameters
    outcome: federation.FederationResult


def _table(path: Path) -> tuple[list[str], int]:
    """The header and the number of data rows of a CSV file."""
    if not path.is_file():
        raise ValidationError(f"data file {path} does not exist")
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        return header, sum(1 for row in reader if row)


def submit(
    contracts: Contracts, requester: LocalAccount, datasets: Sequence[int], spec: FederatedSpec, amount_wei: int
) -> tuple[dict[int, int], list[TxResult]]:
    """Submit one federated job per dataset (token id) with ``spec``'s hash, paying ``amount_wei`` into escrow
    for each. Returns ``{token id: job id}`` and the transactions. Raises ``TransactionReverted`` (e.g.
    "compute: requester not audited") and :class:`ValidationError` for an empty list or a spec outside
    :data:`ALGORITHMS`."""
    if not datasets:
        raise ValidationError("a federated run needs at least one dataset")
    if spec.algorithm not in ALGORITHMS:
        raise ValidationError(f"unknown algorithm {spec.algorithm!r} (known: {', '.join(ALGORITHMS)})")
    jobs: dict[int, int] = {}
    txs = []
    for token_id in datasets:
        tx = contracts.compute_jobs.submit(requester, token_id, spec.hash, spec.uri, amount_wei, kind=JobKind.FEDERATED)
        jobs[token_id] = contracts.compute_jobs.submitted_id(tx)
        txs.append(tx)
    return jobs, txs


def review(
    contracts: Contracts,
    owner: LocalAccount,
    job_id: int,
    spec: FederatedSpec,
    data_file: Path,
    terms: OwnerTerms | None = None,
) -> Review:
    """The owner checks job ``job_id`` against ``terms`` (default :func:`default_terms` for the job's dataset) and
    its partition ``data_file``, then accepts it on chain or rejects it with the broken rule (the requester is
    refunded). Raises :class:`AccessDenied` when ``owner`` is not the job's owner, :class:`ValidationError` when
    the job is not a federated one or ``spec`` is not the one it was submitted with."""
    job = contracts.compute_jobs.job(job_id)
    if job.owner.lower() != owner.address.lower():
        raise AccessDenied(f"job {job_id} is for the owner {job.owner}, not {owner.address}")
    if job.kind != JobKind.FEDERATED:
        raise ValidationError(f"job {job_id} is not part of a federated run")
    if job.spec_hash != spec.hash:
        raise ValidationError(f"job {job_id} was submitted with another spec than the one given")
    terms = terms or default_terms(owner.address, job.token_id, contracts.chain.chain_id)
    columns, rows = _table(data_file)
    try:
        reason = terms.broken_rule(spec, job.token_id, rows, columns)
    except ValidationError as exc:  # the job cannot run on this table (e.g. no label column)
        reason = str(exc)
    if reason is None:
        return Review(job_id, True, "", contracts.compute_jobs.accept(owner, job_id))
    return Review(job_id, False, reason, contracts.compute_jobs.reject(owner, job_id, reason[:256]))


def approved(contracts: Contracts, requester: str, invitations: Sequence[Invitation], spec: FederatedSpec) -> list[int]:
    """The job ids among ``invitations`` that their owner accepted on chain for ``requester`` and ``spec``."""
    out = []
    for inv in invitations:
        job = contracts.compute_jobs.job(inv.job_id)
        if (
            job.state == JobState.ACCEPTED
            and job.kind == JobKind.FEDERATED
            and job.spec_hash == spec.hash
            and job.requester.lower() == requester.lower()
            and job.owner.lower() == inv.owner.lower()
        ):
            out.append(inv.job_id)
    return out


def run(
    contracts: Contracts,
    requester: LocalAccount,
    invitations: Sequence[Invitation],
    spec: FederatedSpec,
    workdir: Path,
    *,
    min_owners: int | None = None,
    timeout: float = federation.DEFAULT_TIMEOUT,
    env: FlowerEnvironment | None = None,
    on_round: Callable[[RecordedRound], None] = lambda _: None,
    on_progress: Callable[[str], None] = lambda _: None,
    on_started: Callable[[federation.Federation], None] = lambda _: None,
    on_stopped: Callable[[federation.Federation], None] = lambda _: None,
) -> FederatedRun:
    """Run ``spec`` over the invited owners: a SuperNode is started for each, but only the node keys of owners
    whose job is accepted on chain are registered with Flower, so the others' nodes are refused. After each round
    the requester records the aggregate's hash once, on the run's lead job (the lowest accepted job id; see
    :func:`recorded_rounds`). ``min_owners`` (default: every accepted job) must join.

    An invitation may carry the owner's own SuperNode key pair: its public key is registered only when the
    owner's signature of it (:func:`sign_node_key`) recovers to the job's owner on chain.

    Raises :class:`AccessDenied` when no invited job is accepted, or fewer than ``min_owners``, or a given node
    key is not signed by its job's owner (before anything starts);
    ``ComputationFailed`` when a SuperNode stops or the run times out (every process is stopped; rounds recorded
    so far stay on chain); ``TransactionReverted`` when recording a round fails."""
    for inv in invitations:
        if inv.node_key is not None:
            signer = node_key_signer(contracts, inv.job_id, inv.node_key.public_line, inv.node_key_signature)
            if signer.lower() != contracts.compute_jobs.job(inv.job_id).owner.lower():
                raise AccessDenied(f"the SuperNode key given for job {inv.job_id} is not signed by the job's owner")
    jobs = approved(contracts, requester.address, invitations, spec)
    wanted = len(jobs) if min_owners is None else min_owners
    if not jobs or len(jobs) < wanted:
        raise AccessDenied(
            f"{len(jobs)} of the {len(invitations)} invited owners accepted the federated job on chain"
            + (f", {wanted} needed" if wanted else "")
        )
    owners = {inv.job_id: inv.owner for inv in invitations}
    recorded: list[RecordedRound] = []

    def record(aggregate: federation.RoundAggregate) -> None:
        entry = record_round(contracts, requester, jobs, aggregate.number, aggregate.hash, aggregate.seconds)
        recorded.append(entry)
        on_round(entry)

    outcome = federation.run(
        [federation.Owner(inv.owner, inv.data_file, inv.node_key) for inv in invitations],
        [owners[j] for j in jobs],
        workdir,
        rounds=spec.rounds,
        local_epochs=spec.local_epochs,
        label=spec.label,
        positive_label=spec.positive_label,
        secure_aggregation=spec.secure_aggregation,
        min_owners=wanted,
        timeout=timeout,
        env=env,
        on_round=record,
        on_progress=on_progress,
        on_started=on_started,
        on_stopped=on_stopped,
    )
    return FederatedRun(jobs, outcome.refused, recorded, outcome.final, outcome)


def record_round(
    contracts: Contracts,
    requester: LocalAccount,
    jobs: Sequence[int],
    number: int,
    aggregate_hash: bytes,
    seconds: float = 0.0,
) -> RecordedRound:
    """Record round ``number``'s aggregate hash (32 bytes) once for the run made of the accepted ``jobs``: one
    ``record_round`` transaction on the run's lead job, the lowest id (:func:`recorded_rounds` finds it from any
    job of the run). Raises ``TransactionReverted`` as the contract says ("compute: wrong round", ...) and
    :class:`ValidationError` for an empty ``jobs``."""
    if not jobs:
        raise ValidationError("a federated run needs at least one accepted job")
    lead = min(jobs)
    entry = RecordedRound(number, aggregate_hash, seconds, lead)
    entry.txs.append(contracts.compute_jobs.record_round(requester, lead, number, aggregate_hash))
    return entry


def settle(
    contracts: Contracts, owner: LocalAccount, requester: LocalAccount, job_id: int, model: Parameters
) -> list[TxResult]:
    """Close an owner's job after a run: the owner posts the final model's hash as the result, the requester
    confirms it and the escrow credits the owner (withdrawn with ``withdraw``). Reverts as the contract says."""
    uri = f"urn:datagora:federated-model:0x{model.hash.hex()}"
    posted = contracts.compute_jobs.post_result(owner, job_id, model.hash, uri)
    return [posted, contracts.compute_jobs.confirm(requester, job_id)]


def recorded_rounds(contracts: Contracts, job_id: int) -> list[tuple[int, bytes]]:
    """``(round, aggregate hash)`` of every round of the federated run job ``job_id`` took part in, in chain order;
    empty when the job was never accepted.

    A run records each round once, on its lead job (the lowest accepted job id, see :func:`run`); every job of
    the run has the same requester and spec hash and an id not below the lead's. So the run's rounds are the
    ``FederatedRound`` events of the job, among those with the same requester, spec hash and kind, that has
    rounds and the greatest id not above ``job_id`` (the latest run of that spec when a requester ran it again)."""
    events = list(contracts.decode(contracts.get_logs([contracts.compute_jobs.address])))
    submitted = {int(e.args["job_id"]): e.args for e in events if e.name == "JobSubmitted"}
    accepted = {int(e.args["job_id"]) for e in events if e.name == "JobAccepted"}
    mine = submitted.get(job_id)
    if mine is None or job_id not in accepted or int(mine["kind"]) != int(JobKind.FEDERATED):
        return []
    rounds: dict[int, list[tuple[int, bytes]]] = {}
    for e in events:
        if e.name == "FederatedRound":
            rounds.setdefault(int(e.args["job_id"]), []).append((int(e.args["round"]), bytes(e.args["aggregate_hash"])))

    def same_run(other: int) -> bool:
        theirs = submitted.get(other)
        return (
            theirs is not None
            and other <= job_id
            and str(theirs["requester"]).lower() == str(mine["requester"]).lower()
            and bytes(theirs["spec_hash"]) == bytes(mine["spec_hash"])
            and int(theirs["kind"]) == int(mine["kind"])
        )

    leads = [j for j in rounds if same_run(j)]
    return rounds[max(leads)] if leads else []


def status(contracts: Contracts, job_ids: Sequence[int]) -> list[tuple[ComputeJob, list[tuple[int, bytes]]]]:
    """Each job as the contract holds it, with its recorded rounds."""
    return [(contracts.compute_jobs.job(j), recorded_rounds(contracts, j)) for j in job_ids]


# -- evaluation (the requester's own test set) ---------------------------------------------------------------------


def _matrix(path: Path, label: str, positive_label: str) -> tuple[list[list[float]], list[int]]:
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if label not in header:
            raise ValidationError(f"{path.name} has no column {label!r}")
        li = header.index(label)
        x, y = [], []
        for row in reader:
            if not row:
                continue
            x.append([float(v) for i, v in enumerate(row) if i != li])
            y.append(int(row[li].strip() == positive_label) if positive_label else int(float(row[li])))
    return x, y


def accuracy(
    model: Parameters, mean: Sequence[float], scale: Sequence[float], test_file: Path, spec: FederatedSpec
) -> float:
    """Share (0..1) of ``test_file``'s rows the logistic-regression ``model`` classifies right, features scaled
    with the run's global ``mean`` and ``scale``."""
    import numpy as np

    x, y = _matrix(test_file, spec.label, spec.positive_label)
    xs = (np.array(x) - np.array(mean)) / np.array(scale)
    coef = np.array(model.values["coef"]).reshape(-1)
    intercept = float(model.values["intercept"][0])
    predicted = (xs @ coef + intercept > 0).astype(int)
    return float((predicted == np.array(y)).mean())


def centralised_accuracy(train_files: Sequence[Path], test_file: Path, spec: FederatedSpec) -> float:
    """Accuracy (0..1) on ``test_file`` of the same estimator trained the usual way on every training row pooled
    in one place (standardised features, solver run to convergence): the baseline a federated run is measured
    against."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x: list[list[float]] = []
    y: list[int] = []
    for path in train_files:
        xi, yi = _matrix(path, spec.label, spec.positive_label)
        x += xi
        y += yi
    scaler = StandardScaler().fit(np.array(x))
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(np.array(x)), np.array(y))
    xt, yt = _matrix(test_file, spec.label, spec.positive_label)
    return float(model.score(scaler.transform(np.array(xt)), np.array(yt)))
