"""Compute-to-data: the requester's model travels to the data, only the result comes back (Wang and Liu, EntDSM,
system model steps 7-8 and the case study: the requester encrypts the model to the owner's public key, signs it
and sends it in a transaction; the owner checks the signature, decrypts, reviews the model, runs it locally and
returns the result the same way).

Requester: :func:`submit_job` signs the declarative spec (EIP-712), encrypts it to the dataset owner's Registry
key, puts it where the owner can fetch it (an :class:`Exchange`) and submits the job with the payment into escrow
(``ComputeJobs``). :func:`fetch_result` checks the result against the hash on chain and decrypts it;
:func:`confirm_result` pays the owner.

Owner: :func:`review_job` decrypts the spec, checks that the requester signed it and that it is the one on chain,
and checks it against the dataset's compute policy (:class:`~datagora.compute.policy.ComputePolicy`, W3C ODRL).
:func:`decide` applies the policy automatically: a job breaking a rule is rejected on chain with the rule in plain
words (the requester is refunded); a job inside the policy is accepted when the policy approves automatically and
otherwise waits for the owner's :func:`approve_job` or :func:`reject_job`. :func:`run_job` runs an accepted job on
the owner's own copy: an allowed estimator in-process, Python code in the sandbox; a job over its limits, refused
by the sandbox, past the privacy budget or whose result breaks the policy (too large, raw rows) is marked failed
on chain (refund); otherwise the result is encrypted to the requester and its hash posted on chain.

Federated jobs (kind 1) are accepted the same way; their rounds are run by a :class:`FederatedParticipant` the
caller passes to :func:`run_job` (the federated-learning service provides it).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datagora.chain.contracts import Contracts
from datagora.compute.policy import ComputePolicy, Refusal, default_policy
from datagora.compute.spec import PYTHON, JobSpec, SignedSpec, open_signed_spec, sign_spec
from datagora.crypto.envelope import decrypt_bytes, decrypt_stream, encrypt_bytes
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.compute import ComputeJob, JobKind, JobState
from datagora.domain.errors import (
    AccessDenied,
    CryptoError,
    IntegrityError,
    NotCanonicalJSON,
    NotFoundError,
    ValidationError,
)
from datagora.domain.models import TxResult
from datagora.services.participant import Participant
from datagora.services.use_rights import buyer_key
from datagora.storage.privacy_ledger import BudgetExceeded, PrivacyLedger

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from datagora.compute.runner import Table
    from datagora.compute.sandbox import SandboxPool

SpecLocator = Callable[[int], "str | None"]
"""Where job ``job_id``'s encrypted spec lives (its ``JobSubmitted`` ``spec_uri``), or None when unknown: the
owner's node reads it from its event index (:func:`index_spec_locator`); without one the chain's logs are read."""

DAY = 86_400
MAX_REASON_BYTES = 256
POLICY_RECORDS = "compute-policies"
JOB_RECORDS = "compute-jobs"


# -- where encrypted specs and results travel --------------------------------------------------------------------


class Exchange(Protocol):
    """Where the encrypted spec (for the owner) and the encrypted result (for the requester) are put and fetched:
    ``put`` returns a URI recorded on chain, ``get`` returns the bytes (checked against the URI)."""

    def put(self, data: bytes) -> str: ...

    def get(self, uri: str) -> bytes: ...


class DirectoryExchange:
    """A content-addressed folder both parties can reach (a shared drive, a synced directory): each blob is stored
    under its Keccak-256, its URI is ``exchange:0x<keccak256>``. :class:`IntegrityError` when a blob read back does
    not hash to its URI; :class:`NotFoundError` when it is absent."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        digest = keccak256(data).hex()
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / digest
        if not target.exists():
            tmp = self.root / f".{digest}.{secrets.token_hex(4)}"
            tmp.write_bytes(data)
            tmp.replace(target)
        return f"exchange:0x{digest}"

    def get(self, uri: str) -> bytes:
        if not uri.startswith("exchange:0x") or len(uri) != 75:
            raise ValidationError(f"not an exchange address: {uri!r}")
        digest = uri.removeprefix("exchange:0x")
        try:
            data = (self.root / digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"nothing at {uri}") from None
        if keccak256(data).hex() != digest:
            raise IntegrityError(f"the blob at {uri} does not match its hash")
        return data


# -- requester side ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedJob:
    """A submitted job: its ``job_id``, ``spec_hash`` (the EIP-712 digest on chain), the encrypted spec's
    ``spec_uri`` and the transaction."""

    job_id: int
    spec_hash: bytes
    spec_uri: str
    tx: TxResult


def submit_job(
    contracts: Contracts,
    requester: Participant,
    spec: JobSpec,
    amount: int,
    exchange: Exchange,
    *,
    kind: JobKind = JobKind.SINGLE,
    run_window: int = DAY,
    confirm_window: int = DAY,
    where: str | None = None,
) -> SubmittedJob:
    """Sign ``spec``, encrypt it to the dataset owner, put it on ``exchange`` and submit the job paying ``amount``
    wei into escrow; the requester's record of the job keeps the spec and ``where`` (the owner's node's URL, if
    the exchange is there: where the result will be fetched). Reverts surface as
    :class:`~datagora.domain.errors.TransactionReverted` ("compute: requester not audited", "compute: own
    dataset" ...); :class:`NotFoundError` for an unknown dataset."""
    owner = contracts.catalog.owner_of(spec.token_id)
    owner_key = contracts.registry.public_key(owner)
    signed = sign_spec(
        requester.private_key, requester.address, contracts.chain.chain_id, contracts.compute_jobs.address, spec
    )
    uri = exchange.put(encrypt_bytes(signed.to_bytes(), {owner: owner_key}))
    tx = contracts.compute_jobs.submit(
        requester.account,
        spec.token_id,
        signed.spec_hash,
        uri,
        amount,
        kind=kind,
        run_window=run_window,
        confirm_window=confirm_window,
    )
    job_id = contracts.compute_jobs.submitted_id(tx)
    record = {"spec": spec.to_dict(), "spec_uri": uri, "role": "requester", "where": where}
    requester.save_record(JOB_RECORDS, str(job_id), record)
    return SubmittedJob(job_id, signed.spec_hash, uri, tx)


def is_code_job(owner: Participant, job_id: int) -> bool:
    """Whether the owner's node recorded job ``job_id``'s verified spec as Python code (False when it has not
    reviewed the job yet)."""
    try:
        record = owner.load_record(JOB_RECORDS, str(job_id))
    except NotFoundError:
        return False
    return record.get("role") == "owner" and record.get("spec", {}).get("estimator") == PYTHON


def requested_record(requester: Participant, job_id: int) -> dict[str, Any] | None:
    """What the requester kept of job ``job_id`` when it submitted it (``spec``, ``spec_uri``, ``where``), or None
    when it was not submitted from here."""
    try:
        record = requester.load_record(JOB_RECORDS, str(job_id))
    except NotFoundError:
        return None
    return record if record.get("role") == "requester" else None


def fetch_result(contracts: Contracts, requester: Participant, job_id: int, exchange: Exchange) -> dict[str, Any]:
    """The job's result, decrypted: fetched from ``exchange`` by its hash on chain (exchanges are content-addressed)
    and checked against it (:class:`IntegrityError` when it differs). :class:`AccessDenied` for someone else's
    job; :class:`ValidationError` when no result was posted."""
    job = contracts.compute_jobs.job(job_id)
    if job.requester.lower() != requester.address.lower():
        raise AccessDenied(f"compute job {job_id} was requested by {job.requester}, not by {requester.address}")
    if job.state not in (JobState.RESULT_POSTED, JobState.COMPLETED):
        raise ValidationError(f"compute job {job_id} has no result (it is {job.state.name.lower().replace('_', ' ')})")
    # Exchanges are content-addressed by Keccak-256: the result's address is its hash on chain.
    envelope = exchange.get(f"exchange:0x{job.result_hash.hex()}")
    if keccak256(envelope) != job.result_hash:
        raise IntegrityError(f"the result of compute job {job_id} does not match the hash on chain")
    try:
        doc: dict[str, Any] = json.loads(decrypt_bytes(envelope, requester.private_key))
    except CryptoError as exc:
        raise IntegrityError(f"the result of compute job {job_id} cannot be decrypted: {exc}") from exc
    return doc


def confirm_result(contracts: Contracts, requester: Participant, job_id: int) -> TxResult:
    """Accept the posted result: the owner is paid from escrow. Checked before anything is sent (the confirmation
    goes out without a gas estimate, so a call the contract would refuse would be mined and cost gas):
    :class:`AccessDenied` for someone else's job, :class:`ValidationError` when no result is waiting."""
    job = contracts.compute_jobs.job(job_id)
    if job.requester.lower() != requester.address.lower():
        raise AccessDenied(f"compute job {job_id} was requested by {job.requester}, not by {requester.address}")
    if job.state != JobState.RESULT_POSTED:
        raise ValidationError(
            f"compute job {job_id} has no result waiting for confirmation (it is "
            f"{job.state.name.lower().replace('_', ' ')})"
        )
    return contracts.compute_jobs.confirm(requester.account, job_id)


# -- owner side: policy and review -------------------------------------------------------------------------------


def compute_policy(contracts: Contracts, owner: Participant, token_id: int) -> ComputePolicy:
    """The owner's compute policy for dataset ``token_id`` (its saved one, else :func:`default_policy`)."""
    try:
        return ComputePolicy.from_jsonld(owner.load_record(POLICY_RECORDS, str(token_id)))
    except NotFoundError:
        return default_policy(owner.address, token_id, contracts.chain.chain_id)


def set_compute_policy(owner: Participant, token_id: int, policy: ComputePolicy) -> Path:
    """Save the owner's compute policy for dataset ``token_id``."""
    return owner.save_record(POLICY_RECORDS, str(token_id), policy.to_jsonld())


@dataclass(frozen=True)
class JobReview:
    """What the owner's node found about a job: the ``job`` on chain, its verified ``spec``, the ``policy`` it was
    checked against, the dataset's ``rows`` and every rule it breaks (``refusals``; empty: inside the policy)."""

    job: ComputeJob
    spec: JobSpec
    policy: ComputePolicy
    rows: int
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def inside_policy(self) -> bool:
        return not self.refusals

    def reason(self) -> str:
        """The refusal in plain words, at most 256 bytes (what goes on chain)."""
        return _clip("; ".join(str(r) for r in self.refusals) or "refused by the owner")


def _clip(text: str) -> str:
    raw = text.encode()
    if len(raw) <= MAX_REASON_BYTES:
        return text
    return raw[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


def _owned_job(contracts: Contracts, owner: Participant, job_id: int) -> ComputeJob:
    job = contracts.compute_jobs.job(job_id)
    if job.owner.lower() != owner.address.lower():
        raise AccessDenied(f"compute job {job_id} is for {job.owner}'s data, not for {owner.address}'s")
    return job


def index_spec_locator(engine: Engine, sync: Callable[[], object] | None = None) -> SpecLocator:
    """A :data:`SpecLocator` reading the owner's event index (``engine``); when the index has not seen the job
    yet, it calls ``sync`` (the node's ``sync_index``) and looks again, so a job submitted a moment ago is found."""
    from datagora.index.projections.compute_jobs import submitted_spec_uri

    def locate(job_id: int) -> str | None:
        found = submitted_spec_uri(engine, job_id)
        if found is None and sync is not None:
            sync()
            found = submitted_spec_uri(engine, job_id)
        return found

    return locate


@dataclass(frozen=True)
class _OwnerRecord:
    """What the owner's node keeps of a job it verified: the ``spec`` and the dataset's ``content_hash`` (both
    fixed for the job's life, so later steps need not read them again)."""

    spec: JobSpec
    content_hash: bytes


def _verified_spec(
    contracts: Contracts,
    owner: Participant,
    job: ComputeJob,
    exchange: Exchange,
    locate: SpecLocator | None = None,
) -> _OwnerRecord:
    """The job's spec and dataset content hash: from the owner's record of them when the spec was verified
    before (same spec hash), else fetched, decrypted and verified (:func:`_signed_spec`) and recorded."""
    try:
        record = owner.load_record(JOB_RECORDS, str(job.job_id))
        if (
            record.get("spec_hash") == "0x" + job.spec_hash.hex()
            and record.get("role") == "owner"
            and "content_hash" in record
        ):
            return _OwnerRecord(JobSpec.from_dict(record["spec"]), bytes.fromhex(record["content_hash"]))
    except NotFoundError:
        pass
    spec = _signed_spec(contracts, owner, job, exchange, locate).spec
    content_hash = contracts.catalog.content_hash(job.token_id)
    record = {
        "spec": spec.to_dict(),
        "spec_hash": "0x" + job.spec_hash.hex(),
        "role": "owner",
        "content_hash": content_hash.hex(),
    }
    owner.save_record(JOB_RECORDS, str(job.job_id), record)
    return _OwnerRecord(spec, content_hash)


def _signed_spec(
    contracts: Contracts, owner: Participant, job: ComputeJob, exchange: Exchange, locate: SpecLocator | None = None
) -> SignedSpec:
    found = locate(job.job_id) if locate is not None else None
    uri = found or str(contracts.compute_jobs.event_of("JobSubmitted", job.job_id)["spec_uri"])
    try:
        plain = decrypt_bytes(exchange.get(uri), owner.private_key)
    except CryptoError as exc:
        raise IntegrityError(f"the spec of compute job {job.job_id} cannot be decrypted: {exc}") from exc
    signed = open_signed_spec(plain, contracts.chain.chain_id, contracts.compute_jobs.address)
    if signed.spec_hash != job.spec_hash:
        raise IntegrityError(f"the spec fetched for compute job {job.job_id} is not the one on chain")
    if signed.requester.lower() != job.requester.lower():
        raise IntegrityError(
            f"the spec of compute job {job.job_id} is signed for {signed.requester}, not the requester"
        )
    if signed.spec.token_id != job.token_id:
        raise IntegrityError(f"the spec of compute job {job.job_id} names another dataset")
    return signed


@contextlib.contextmanager
def _own_copy(owner: Participant, content_hash: bytes) -> Iterator[Path]:
    """The owner's dataset (by its content hash) decrypted to a private temporary file, removed on exit."""
    record = owner.load_record("datasets", content_hash.hex())
    work = owner.paths.tmp
    work.mkdir(exist_ok=True)
    plain = work / f"compute-{secrets.token_hex(8)}.csv"
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with owner.store.open(record["blob"]) as src, os.fdopen(fd, "wb") as dst:
            decrypt_stream(src, dst, owner.private_key)
        yield plain
    finally:
        plain.unlink(missing_ok=True)


def _ledger_keys(contracts: Contracts, job: ComputeJob) -> tuple[str, str]:
    """The privacy ledger's dataset and requester keys: the same as the use-right queries' (content hash and
    organisation), so queries and jobs on one dataset draw on one budget per requester organisation."""
    return contracts.catalog.dataset(job.token_id).content_hash.hex(), buyer_key(contracts, job.requester)


def review_job(
    contracts: Contracts, owner: Participant, job_id: int, exchange: Exchange, locate: SpecLocator | None = None
) -> JobReview:
    """Fetch, decrypt and verify job ``job_id``'s spec (its address from ``locate``, else the chain's logs) and
    check it against the dataset's compute policy and, for a differentially private job, the requester's privacy
    budget. :class:`AccessDenied` when the job is not on the owner's data; :class:`IntegrityError` when the spec
    is not the one signed and on chain."""
    return _review_owned(contracts, owner, _owned_job(contracts, owner, job_id), exchange, locate)


def _review_owned(
    contracts: Contracts, owner: Participant, job: ComputeJob, exchange: Exchange, locate: SpecLocator | None
) -> JobReview:
    from datagora.compute.runner import table_shape

    record = _verified_spec(contracts, owner, job, exchange, locate)
    with _own_copy(owner, record.content_hash) as plain:
        rows, columns = table_shape(plain)
    return _review(contracts, owner, job, record.spec, rows, columns)


def _review(
    contracts: Contracts, owner: Participant, job: ComputeJob, spec: JobSpec, rows: int, columns: tuple[str, ...]
) -> JobReview:
    policy = compute_policy(contracts, owner, job.token_id)
    refusals = policy.check(spec, rows, columns)
    if spec.epsilon is not None:
        dataset_key, requester_key = _ledger_keys(contracts, job)
        spent = PrivacyLedger(owner.paths.privacy_ledger).spent(dataset_key, requester_key).epsilon
        if spent + spec.epsilon > policy.privacy_budget + 1e-9:
            refusals.append(
                Refusal(
                    "privacy budget",
                    f"the job would spend epsilon {spec.epsilon:g}, but the requester has spent {spent:g} of its "
                    f"{policy.privacy_budget:g} on this dataset",
                )
            )
    return JobReview(job, spec, policy, rows, refusals)


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` did: ``outcome`` is ``"rejected"`` (with ``reason``, on chain), ``"accepted"`` or
    ``"waiting"`` (inside the policy, for the owner's review); ``review`` is what it was based on."""

    outcome: str
    review: JobReview
    reason: str = ""
    tx: TxResult | None = None


def decide(
    contracts: Contracts, owner: Participant, job_id: int, exchange: Exchange, locate: SpecLocator | None = None
) -> Decision:
    """Apply the owner's policy to a submitted job: reject it on chain naming the rule it breaks, accept it when
    the policy approves automatically, or leave it waiting for review. :class:`ValidationError` when the job is not
    waiting for a decision."""
    job = _owned_job(contracts, owner, job_id)
    if job.state != JobState.SUBMITTED:
        raise ValidationError(f"compute job {job_id} is not waiting for a decision")
    review = _review_owned(contracts, owner, job, exchange, locate)
    if review.refusals:
        reason = review.reason()
        return Decision("rejected", review, reason, contracts.compute_jobs.reject(owner.account, job_id, reason))
    if review.policy.auto_approve:
        return Decision("accepted", review, tx=contracts.compute_jobs.accept(owner.account, job_id))
    return Decision("waiting", review)


def approve_job(
    contracts: Contracts, owner: Participant, job_id: int, exchange: Exchange, locate: SpecLocator | None = None
) -> TxResult:
    """The owner accepts a job after review. :class:`AccessDenied` naming the rules when it breaks the policy
    (such jobs are rejected, never approved)."""
    review = review_job(contracts, owner, job_id, exchange, locate)
    if review.refusals:
        raise AccessDenied(f"compute job {job_id} breaks the policy: {review.reason()}")
    return contracts.compute_jobs.accept(owner.account, job_id)


def reject_job(contracts: Contracts, owner: Participant, job_id: int, reason: str) -> TxResult:
    """The owner refuses a job with a reason in plain words (at most 256 bytes kept); the requester is refunded."""
    _owned_job(contracts, owner, job_id)
    if not reason.strip():
        raise ValidationError("say why the job is refused")
    return contracts.compute_jobs.reject(owner.account, job_id, _clip(reason.strip()))


def jobs_for(contracts: Contracts, account: str, *, as_owner: bool = True, limit: int = 500) -> list[ComputeJob]:
    """The latest ``limit`` jobs on ``account``'s data (``as_owner``) or requested by it, newest first."""
    out: list[ComputeJob] = []
    count = contracts.compute_jobs.job_count()
    for job_id in range(count, max(0, count - limit), -1):
        job = contracts.compute_jobs.job(job_id)
        party = job.owner if as_owner else job.requester
        if party.lower() == account.lower():
            out.append(job)
    return out


# -- owner side: the run -----------------------------------------------------------------------------------------


class FederatedParticipant(Protocol):
    """Runs the owner's part of a federated job (kind 1) on its table and returns the result document to send
    to the requester; provided by the federated-learning service."""

    def run(self, owner: Participant, job: ComputeJob, spec: JobSpec, table: Path) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_job` did: ``ok`` with the ``result_hash`` posted on chain, or the ``reason`` the job was
    marked failed (``killed``: a sandbox limit ended it); ``seconds`` of the run; the chain ``tx``."""

    job_id: int
    ok: bool
    reason: str
    result_hash: bytes
    seconds: float
    killed: bool
    tx: TxResult
    result: dict[str, Any] = field(default_factory=dict, repr=False)


def _write_columns(table_path: Path, columns: tuple[str, ...], target: Path) -> None:
    """Copy only ``columns`` of the CSV ``table_path`` to ``target`` (the sandbox's input)."""
    with table_path.open(newline="") as src, target.open("w", newline="") as dst:
        reader = csv.reader(src)
        header = next(reader)
        folded = [h.casefold() for h in header]
        idx = [folded.index(c.casefold()) for c in columns]
        writer = csv.writer(dst)
        writer.writerow([header[i] for i in idx])
        for row in reader:
            writer.writerow([row[i] for i in idx])


def run_job(
    contracts: Contracts,
    owner: Participant,
    job_id: int,
    exchange: Exchange,
    *,
    federated: FederatedParticipant | None = None,
    locate: SpecLocator | None = None,
    sandbox_pool: SandboxPool | None = None,
) -> RunOutcome:
    """Run an accepted job on the owner's own copy and settle it on chain: post the hash of the result encrypted
    to the requester, or mark the job failed (the requester is refunded) with the reason in plain words. Checks the
    policy again (it may have changed), spends the privacy budget before a differentially private run, and checks
    the result's size and that it holds no row of the data unless the policy allows raw rows.
    Python code runs in a process from ``sandbox_pool`` when given (warm), else in one started for it.
    :class:`ValidationError` when the job is not accepted, or is federated and no ``federated`` runner is given."""
    from datagora.compute.runner import load_table, table_shape

    job = _owned_job(contracts, owner, job_id)
    if job.state != JobState.ACCEPTED:
        raise ValidationError(f"compute job {job_id} is not accepted (it is {job.state.name.lower()})")
    if job.kind == JobKind.FEDERATED and federated is None:
        raise ValidationError(f"compute job {job_id} is a federated job: run it with the federated-learning tools")
    record = _verified_spec(contracts, owner, job, exchange, locate)
    spec = record.spec
    started = time.monotonic()

    def fail(reason: str, killed: bool = False) -> RunOutcome:
        tx = contracts.compute_jobs.fail(owner.account, job_id, _clip(reason))
        return RunOutcome(job_id, False, _clip(reason), b"", time.monotonic() - started, killed, tx)

    with _own_copy(owner, record.content_hash) as plain:
        rows, header = table_shape(plain)
        review = _review(contracts, owner, job, spec, rows, header)
        if review.refusals:
            return fail(review.reason())
        table = load_table(plain, columns=spec.columns)
        policy = review.policy
        done = _run_and_post(contracts, owner, job, spec, policy, plain, table, exchange, federated, fail, sandbox_pool)
    return dataclasses.replace(done, seconds=time.monotonic() - started)


def handle_job(
    contracts: Contracts,
    owner: Participant,
    job_id: int,
    exchange: Exchange,
    locate: SpecLocator | None = None,
    *,
    sandbox_pool: SandboxPool | None = None,
) -> tuple[Decision, RunOutcome | None]:
    """What the owner's node does with a new job: :func:`decide`, and when the policy accepts it automatically,
    run it at once (:func:`run_job`), with the dataset decrypted and the spec verified once for both.

    For a single job without differential privacy the accept transaction goes out while the job runs (the run
    reads only the owner's copy and changes nothing): the result is posted, or the job marked failed, only once
    the accept is mined, and when the accept fails its error is raised and nothing is posted (the output is
    dropped). A private job accepts first (its privacy budget is spent only for an accepted job); a federated job
    is only decided. Returns the decision and the run (None when the job was not run). :class:`ValidationError`
    when the job is not waiting for a decision; :class:`AccessDenied` when it is not on the owner's data."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from datagora.compute.runner import load_table, table_shape

    job = _owned_job(contracts, owner, job_id)
    if job.state != JobState.SUBMITTED:
        raise ValidationError(f"compute job {job_id} is not waiting for a decision")
    record = _verified_spec(contracts, owner, job, exchange, locate)
    spec = record.spec
    started = time.monotonic()
    with _own_copy(owner, record.content_hash) as plain:
        rows, header = table_shape(plain)
        review = _review(contracts, owner, job, spec, rows, header)
        if review.refusals:
            reason = review.reason()
            return Decision(
                "rejected", review, reason, contracts.compute_jobs.reject(owner.account, job_id, reason)
            ), None
        if not review.policy.auto_approve:
            return Decision("waiting", review), None
        if job.kind != JobKind.SINGLE:
            return Decision("accepted", review, tx=contracts.compute_jobs.accept(owner.account, job_id)), None
        table = load_table(plain, columns=spec.columns)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compute-accept") as background:
            if spec.epsilon is None:  # overlapped with the run
                accepting = background.submit(contracts.compute_jobs.accept, owner.account, job_id)
            else:  # mined before the budget is spent
                accepting = Future()
                accepting.set_result(contracts.compute_jobs.accept(owner.account, job_id))

            def fail(reason: str, killed: bool = False) -> RunOutcome:
                accepting.result()  # a failed accept raises here: nothing is marked on chain
                tx = contracts.compute_jobs.fail(owner.account, job_id, _clip(reason))
                return RunOutcome(job_id, False, _clip(reason), b"", time.monotonic() - started, killed, tx)

            done = _run_and_post(
                contracts,
                owner,
                job,
                spec,
                review.policy,
                plain,
                table,
                exchange,
                None,
                fail,
                sandbox_pool,
                accepting.result,
            )
            decision = Decision("accepted", review, tx=accepting.result())
    return decision, dataclasses.replace(done, seconds=time.monotonic() - started)


def _run_and_post(
    contracts: Contracts,
    owner: Participant,
    job: ComputeJob,
    spec: JobSpec,
    policy: ComputePolicy,
    plain: Path,
    table: Table,
    exchange: Exchange,
    federated: FederatedParticipant | None,
    fail: Callable[..., RunOutcome],
    sandbox_pool: SandboxPool | None = None,
    accepted: Callable[[], object] = lambda: None,
) -> RunOutcome:
    """Spend the privacy budget, run the job on the decrypted copy ``plain`` (already read as ``table``), check
    the result and post it (or mark the job failed through ``fail``); ``accepted`` returns once the job's accept
    is mined (or raises when it failed) and is called before the result is posted."""
    from datagora.compute.runner import rows_found, run_estimator
    from datagora.compute.sandbox import Limits, run_sandboxed

    job_id = job.job_id
    if spec.epsilon is not None:
        dataset_key, requester_key = _ledger_keys(contracts, job)
        try:
            PrivacyLedger(owner.paths.privacy_ledger).spend(
                dataset_key, requester_key, spec.epsilon, 0.0, policy.privacy_budget
            )
        except BudgetExceeded as exc:
            return fail(f"privacy budget: the requester has spent {exc.spent.epsilon:g} of {exc.limit:g}")
    if job.kind == JobKind.FEDERATED:
        assert federated is not None
        output: dict[str, Any] = federated.run(owner, job, spec, plain)
    elif spec.estimator == PYTHON:
        work = owner.paths.tmp / f"sandbox-{job_id}-{secrets.token_hex(4)}"
        work.mkdir(parents=True)
        try:
            _write_columns(plain, spec.columns, work / "input.csv")
            limits = Limits(policy.cpu_seconds, policy.memory_bytes, float(policy.wall_seconds), policy.max_model_bytes)
            ran = run_sandboxed(spec.code or "", work / "input.csv", work, limits, sandbox_pool)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not ran.ok:
            return fail(ran.reason, ran.killed)
        output = {
            "estimator": PYTHON,
            "output": ran.output,
            "sandbox": {"network_isolated": ran.network_isolated, "seconds": round(ran.wall_seconds, 3)},
        }
    else:
        try:
            output = run_estimator(spec, table).result
        except ValidationError as exc:
            return fail(str(exc))
    if not policy.raw_rows and (spec.estimator == PYTHON or job.kind == JobKind.FEDERATED):
        # Declarative outputs are known in advance (the policy checked them); code's are searched for rows.
        leaked = rows_found(output, table, spec.columns)
        if leaked:
            return fail(f"raw rows: the result holds {leaked} row(s) of the data, and no raw-row output is allowed")
    document = {"job_id": job_id, "token_id": job.token_id, "spec_hash": "0x" + job.spec_hash.hex(), "result": output}
    try:
        plaintext = canonical_json(document)
    except NotCanonicalJSON as exc:
        return fail(f"the result cannot be delivered: {exc}")
    if len(plaintext) > policy.max_model_bytes:
        return fail(f"model size: the result is {len(plaintext)} bytes, more than the {policy.max_model_bytes} allowed")
    envelope = encrypt_bytes(plaintext, {job.requester: contracts.registry.public_key(job.requester)})
    accepted()  # nothing of the result leaves before the accept is mined
    uri = exchange.put(envelope)
    result_hash = keccak256(envelope)
    tx = contracts.compute_jobs.post_result(owner.account, job_id, result_hash, uri)
    return RunOutcome(job_id, True, "", result_hash, 0.0, False, tx, output)
