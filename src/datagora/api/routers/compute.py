"""Compute-to-data jobs (Wang and Liu, EntDSM): the requester's model runs on this node's data, only the result
goes back. ``GET /compute/jobs`` lists the jobs on this node's data and those its account requested; ``GET
/compute/jobs/{job_id}`` reads one from ``ComputeJobs``; the operator applies the dataset's policy (``POST
.../review``: refuse with the rule broken, accept automatically, or leave for review), approves, rejects and runs
jobs. ``PUT /compute/blobs`` and ``GET /compute/blobs/{digest}`` are this node's exchange, where requesters leave
specs encrypted to the owner and fetch results encrypted to themselves (content-addressed by Keccak-256; the
hashes are on chain).

The requester's side: ``POST /compute/jobs`` signs a job spec with this node's key (EIP-712), encrypts it to the
dataset owner, leaves it in the owner's node's exchange (``owner_node``) or this node's own, and submits the job
with its payment in escrow; ``GET /compute/requested`` lists the jobs this node's account asked for, with their
specs; ``GET /compute/jobs/{job_id}/result`` fetches the result, checks it against the hash on chain and decrypts
it. See ``datagora.services.compute``."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AnyHttpUrl, Field

from datagora.api.client import NodeClient
from datagora.api.deps import NodeDep, OperatorDep, Peers, PeersDep, ReaderDep
from datagora.api.schemas import Out, Strict, TxOut
from datagora.compute.sandbox import SandboxPool
from datagora.compute.spec import JobSpec
from datagora.domain.compute import ComputeJob, JobKind
from datagora.domain.errors import ValidationError
from datagora.services import compute
from datagora.services.node import Node

router = APIRouter(prefix="/compute", tags=["compute"])

JobPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job's number.")]
DigestPath = Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$", description="Keccak-256 of the blob, 0x-hex.")]
MAX_BLOB_BYTES = 1 << 20


class JobOut(Out):
    job_id: int
    requester: str
    owner: str
    token_id: int
    kind: str = Field(description="single (one owner) or federated (one participant of a federated run).")
    state: str
    spec_hash: str
    amount_wei: int
    payment_token: str
    deadline: int = Field(description="Unix seconds by which the owner must post a result.")
    confirm_deadline: int
    result_hash: str
    rounds: int = Field(
        description="Federated rounds recorded for this job's run. A run records each round once, on its lead job "
        "(its lowest accepted job id): in lists the other jobs of the run show 0, the single-job route counts the "
        "run's rounds for every job of it."
    )

    @classmethod
    def of(cls, job: ComputeJob) -> JobOut:
        return cls(
            job_id=job.job_id,
            requester=job.requester,
            owner=job.owner,
            token_id=job.token_id,
            kind=job.kind.name.lower(),
            state=job.state.name.lower(),
            spec_hash="0x" + job.spec_hash.hex(),
            amount_wei=job.amount,
            payment_token=job.payment_token,
            deadline=job.deadline,
            confirm_deadline=job.confirm_deadline,
            result_hash="0x" + job.result_hash.hex(),
            rounds=job.rounds,
        )


class JobsOut(Out):
    on_my_data: list[JobOut]
    requested: list[JobOut]


class RunOut(Out):
    job_id: int
    ok: bool
    reason: str = Field(description="Why the job failed (empty when it succeeded).")
    result_hash: str
    seconds: float
    tx: TxOut


class DecisionOut(Out):
    job_id: int
    outcome: str = Field(description="rejected, accepted or waiting (inside the policy, for the operator's review).")
    reason: str = Field(description="The rules the job breaks, in plain words (empty unless rejected).")
    tx: TxOut | None = None
    run: RunOut | None = Field(default=None, description="The run, when it was asked for and the job accepted.")


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=256, description="Why, in plain words; the requester reads it.")


class BlobIn(Strict):
    data: str = Field(min_length=1, max_length=2 * MAX_BLOB_BYTES, description="The encrypted blob, base64.")


class BlobOut(Out):
    uri: str


class SubmitIn(Strict):
    """A job for a dataset's owner: a scikit-learn estimator from the allow-list (or ``python`` with its code),
    the columns, the outputs wanted and the payment."""

    token_id: int = Field(ge=1, le=2**63 - 1, description="The dataset's number (its token id).")
    estimator: str = Field(min_length=1, max_length=64, description="LogisticRegression, Ridge, KMeans ... or python.")
    features: list[str] = Field(min_length=1, max_length=64, description="Input columns.")
    label: str | None = Field(default=None, max_length=128, description="The column to predict.")
    params: dict[str, Any] = Field(default_factory=dict, description="The estimator's settings (bounded).")
    outputs: list[str] = Field(
        default=["parameters", "metrics"], min_length=1, max_length=4, description="parameters, metrics, aggregates."
    )
    epsilon: float | None = Field(default=None, gt=0, le=10, description="Ask for a differentially private run.")
    code: str | None = Field(default=None, max_length=65_536, description="Python defining run(table).")
    test_fraction: float = Field(default=0.2, ge=0.1, le=0.5, description="Rows the owner holds out for metrics.")
    seed: int = Field(default=0, ge=0, lt=2**32, description="Seed of the split and of randomised estimators.")
    amount_wei: int = Field(ge=0, lt=2**128, description="What the owner is paid, in wei, held in escrow.")
    hours: int = Field(default=24, ge=1, le=24 * 30, description="Hours the owner has to post a result.")
    owner_node: AnyHttpUrl | None = Field(
        default=None,
        description="The owner's node, where the encrypted spec is left and the result fetched; "
        "none: this node's own exchange folder (shared with the owner).",
    )


class SubmitOut(Out):
    job_id: int
    spec_hash: str = Field(description="The EIP-712 digest of the signed spec, as on chain.")
    spec_uri: str
    tx: TxOut


class RequestedOut(Out):
    job: JobOut
    spec: dict[str, Any] | None = Field(description="The spec as this node submitted it (none if not from here).")
    owner_node: str | None


class ResultOut(Out):
    job_id: int
    result_hash: str
    result: dict[str, Any] = Field(description="The decrypted result document the owner sent.")


class NodeExchange:
    """The exchange of another node (``PUT /compute/blobs``, ``GET /compute/blobs/{digest}``), reached as this
    node's account."""

    def __init__(self, client: NodeClient) -> None:
        self.client = client

    def put(self, data: bytes) -> str:
        body = {"data": base64.b64encode(data).decode()}
        return str(self.client.json("PUT", "/compute/blobs", json=body)["uri"])

    def get(self, uri: str) -> bytes:
        if not uri.startswith("exchange:0x"):
            raise ValidationError(f"not an exchange address: {uri!r}")
        return self.client.request("GET", f"/compute/blobs/{uri.removeprefix('exchange:')}").content


def _exchange(node: Node) -> compute.DirectoryExchange:
    return compute.DirectoryExchange(node.participant.home / "exchange")


def _requester_exchange(node: Node, peers: Peers, owner_node: str | None) -> compute.Exchange:
    return NodeExchange(peers.client(owner_node)) if owner_node else _exchange(node)


def _sandbox_pool(request: Request, node: Node) -> SandboxPool | None:
    return sandbox_pool_for(request.app, node, _job_id(request))


def sandbox_pool_for(app: Any, node: Node, job_id: int) -> SandboxPool | None:
    """``app``'s warm sandbox pool (``app.state.compute_sandbox_pool``), started when the first accepted Python
    job ``job_id`` is about to run; None until then. Call it under the node's acting lock, so only one is made.
    The node's pages run their jobs with the same pool (the app closes it when it stops)."""
    pool: SandboxPool | None = getattr(app.state, "compute_sandbox_pool", None)
    if pool is None and compute.is_code_job(node.participant, job_id):
        pool = app.state.compute_sandbox_pool = SandboxPool(size=1)
    return pool


def _job_id(request: Request) -> int:
    return int(request.path_params["job_id"])


def _locate(node: Node) -> compute.SpecLocator:
    """Job specs' addresses from this node's event index."""
    return compute.index_spec_locator(node.engine, node.sync_index)


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmitOut,
    responses={422: {"description": "A bad spec or a refused transaction"}, 404: {"description": "No such dataset"}},
)
def submit(body: SubmitIn, node: NodeDep, peers: PeersDep, _: OperatorDep) -> SubmitOut:
    """Send a job to a dataset's owner: the spec is signed with this node's key, encrypted to the owner, left in
    the owner's node's exchange (or this node's own) and the job submitted with its payment in escrow. Operator
    only."""
    doc = body.model_dump(include={"token_id", "estimator", "features", "label", "params", "outputs"})
    doc |= body.model_dump(include={"epsilon", "code", "test_fraction", "seed"})
    spec = JobSpec.from_dict(doc)
    owner_node = str(body.owner_node).rstrip("/") if body.owner_node else None
    exchange = _requester_exchange(node, peers, owner_node)
    with node.acting():
        job = compute.submit_job(
            node.contracts,
            node.participant,
            spec,
            body.amount_wei,
            exchange,
            run_window=body.hours * 3600,
            where=owner_node,
        )
    return SubmitOut(
        job_id=job.job_id, spec_hash="0x" + job.spec_hash.hex(), spec_uri=job.spec_uri, tx=TxOut.of(job.tx)
    )


@router.get("/requested", response_model=list[RequestedOut])
def requested(node: NodeDep, _: OperatorDep) -> list[RequestedOut]:
    """The latest jobs this node's account requested, newest first, with the spec each was sent with. Operator
    only (the specs are the requester's own business)."""
    out = []
    for job in compute.jobs_for(node.contracts, node.address, as_owner=False, limit=100):
        record = compute.requested_record(node.participant, job.job_id)
        out.append(
            RequestedOut(
                job=JobOut.of(job),
                spec=None if record is None else record["spec"],
                owner_node=None if record is None else record.get("where"),
            )
        )
    return out


@router.get(
    "/jobs/{job_id}/result",
    response_model=ResultOut,
    responses={
        422: {"description": "No result posted yet"},
        403: {"description": "Not a job this node's account requested"},
        404: {"description": "No such job"},
    },
)
def result(job_id: JobPath, node: NodeDep, peers: PeersDep, _: OperatorDep) -> ResultOut:
    """The result of a job this node's account requested: fetched from where its spec was left, checked against
    the hash on chain and decrypted with this node's key. Operator only."""
    record = compute.requested_record(node.participant, job_id)
    where = None if record is None else record.get("where")
    doc = compute.fetch_result(node.contracts, node.participant, job_id, _requester_exchange(node, peers, where))
    job = node.contracts.compute_jobs.job(job_id)
    return ResultOut(job_id=job_id, result_hash="0x" + job.result_hash.hex(), result=doc)


@router.get("/jobs", response_model=JobsOut)
def jobs(node: NodeDep, _: ReaderDep) -> JobsOut:
    """The latest jobs on this node's data and those this node's account requested, newest first."""
    mine = compute.jobs_for(node.contracts, node.address, as_owner=True, limit=100)
    asked = compute.jobs_for(node.contracts, node.address, as_owner=False, limit=100)
    return JobsOut(on_my_data=[JobOut.of(j) for j in mine], requested=[JobOut.of(j) for j in asked])


@router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"description": "No such job"}})
def job(job_id: JobPath, node: NodeDep, _: ReaderDep) -> JobOut:
    """A job as the ComputeJobs contract holds it; for a federated job, the rounds of the run it took part in."""
    found = node.contracts.compute_jobs.job(job_id)
    out = JobOut.of(found)
    if found.kind == JobKind.FEDERATED:
        from datagora.services.federated import recorded_rounds

        out = out.model_copy(update={"rounds": len(recorded_rounds(node.contracts, job_id))})
    return out


@router.post(
    "/jobs/{job_id}/review",
    response_model=DecisionOut,
    responses={403: {"description": "Not a job on this node's data"}, 404: {"description": "No such job"}},
)
def review(
    job_id: JobPath,
    request: Request,
    node: NodeDep,
    _: OperatorDep,
    run: Annotated[
        bool, Query(description="Also run the job at once when the policy accepts it (its accept is sent meanwhile).")
    ] = False,
) -> DecisionOut:
    """Apply the dataset's compute policy to a submitted job: refuse it naming the rule it breaks (refunded),
    accept it when the policy approves automatically, or leave it waiting for review. With ``run=true`` an
    accepted single job also runs at once, as ``/run`` would; its result is posted once the accept is mined.
    Operator only."""
    outcome = None
    with node.acting():
        if run:
            pool: SandboxPool | None = getattr(request.app.state, "compute_sandbox_pool", None)
            decision, outcome = compute.handle_job(
                node.contracts, node.participant, job_id, _exchange(node), _locate(node), sandbox_pool=pool
            )
            _sandbox_pool(request, node)  # a first Python job ran cold: the pool waits for the next one
        else:
            decision = compute.decide(node.contracts, node.participant, job_id, _exchange(node), _locate(node))
    return DecisionOut(
        job_id=job_id,
        outcome=decision.outcome,
        reason=decision.reason,
        tx=TxOut.of(decision.tx) if decision.tx else None,
        run=_run_out(job_id, outcome) if outcome is not None else None,
    )


def _run_out(job_id: int, outcome: compute.RunOutcome) -> RunOut:
    return RunOut(
        job_id=job_id,
        ok=outcome.ok,
        reason=outcome.reason,
        result_hash="0x" + outcome.result_hash.hex(),
        seconds=round(outcome.seconds, 3),
        tx=TxOut.of(outcome.tx),
    )


@router.post(
    "/jobs/{job_id}/approve",
    response_model=TxOut,
    responses={403: {"description": "The job breaks the policy or is not on this node's data"}},
)
def approve(job_id: JobPath, node: NodeDep, _: OperatorDep) -> TxOut:
    """Accept a job waiting for review (it must be inside the policy). Operator only."""
    with node.acting():
        return TxOut.of(compute.approve_job(node.contracts, node.participant, job_id, _exchange(node), _locate(node)))


@router.post("/jobs/{job_id}/reject", response_model=TxOut, responses={403: {"description": "Not on this node's data"}})
def reject(job_id: JobPath, body: RejectIn, node: NodeDep, _: OperatorDep) -> TxOut:
    """Refuse a submitted job with a reason; the requester is refunded. Operator only."""
    with node.acting():
        return TxOut.of(compute.reject_job(node.contracts, node.participant, job_id, body.reason))


@router.post("/jobs/{job_id}/run", response_model=RunOut, responses={403: {"description": "Not on this node's data"}})
def run(job_id: JobPath, request: Request, node: NodeDep, _: OperatorDep) -> RunOut:
    """Run an accepted job on this node's copy: the result, encrypted to the requester, goes to the exchange and
    its hash on chain; a job over its limits or breaking the policy is marked failed (refunded). Python code runs
    in a process of the node's warm sandbox pool (started with the first Python job; one process waits, ends with
    the node). Operator only."""
    with node.acting():
        pool = _sandbox_pool(request, node)
        outcome = compute.run_job(
            node.contracts, node.participant, job_id, _exchange(node), locate=_locate(node), sandbox_pool=pool
        )
    return _run_out(job_id, outcome)


@router.put("/blobs", status_code=status.HTTP_201_CREATED, response_model=BlobOut)
def put_blob(body: BlobIn, node: NodeDep, _: ReaderDep) -> BlobOut:
    """Leave an encrypted blob (a job spec for this node's operator) in this node's exchange; returns its URI
    for ``ComputeJobs.submit``."""
    try:
        data = base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("data is not base64") from None
    if len(data) > MAX_BLOB_BYTES:
        raise ValidationError(f"a blob holds at most {MAX_BLOB_BYTES} bytes")
    return BlobOut(uri=_exchange(node).put(data))


@router.get(
    "/blobs/{digest}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {"description": "No such blob"}},
)
def get_blob(digest: DigestPath, node: NodeDep, _: ReaderDep) -> Response:
    """An encrypted blob of this node's exchange (a result for its requester); check it against the hash on
    chain before decrypting."""
    return Response(_exchange(node).get(f"exchange:{digest}"), media_type="application/octet-stream")
