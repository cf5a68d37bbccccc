# pragma version ~=0.4.3
"""
@title Datagora ComputeJobs
@notice Compute-to-data (Wang and Liu, EntDSM: the data requester sends a
        model and its parameters to the data owner in a transaction; the
        owner runs it on its own data and returns only the result). An
        audited requester submits a job for a dataset of the Catalog: the
        hash of its EIP-712-signed job spec, where the spec (encrypted to
        the owner) lives, the payment (ether or an ERC-20) into escrow and
        a deadline. The dataset's owner accepts or rejects it with a reason
        (refund); once accepted the owner posts the hash of the result
        (encrypted to the requester) or marks the job failed (refund). The
        requester confirms the result (the owner is paid) or, when the
        confirmation window passes, anyone releases the payment to the
        owner. A job neither settled nor with a result by its deadline is
        refunded by anyone.
        A job's `kind` is single-owner (0) or a federated participant (1):
        a federated run is one job per owner with the same spec hash, each
        accepted by its owner; the requester (the aggregator) records the
        hash of each round's aggregate model, round after round.
@dev On the shared escrow module: payments are `escrowed` while a job is
     open, move to `pending_withdrawals` when it settles, and leave only
     through `withdraw` (pull payments). Invariant per payment token:
     balance == escrowed + sum of pending; escrowed == sum of the amounts
     of open jobs (Submitted, Accepted, ResultPosted). Every state change
     emits an event.
"""

from .interfaces import ICatalog
from .interfaces import IRegistry
from .modules import escrow
from .modules import states

initializes: escrow

exports: (
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
)


# Job kinds. They stay numbers from 0: as a flag, a single job's kind
# would be 1 and fill a slot that stays zero today (+20,000 gas a submit).
KIND_SINGLE: public(constant(uint8)) = 0
KIND_FEDERATED: public(constant(uint8)) = 1

# Job states (the empty flag, 0, is "no such job") and settlement outcomes
# (event JobSettled): flags used by this contract alone.
flag JobState:
    SUBMITTED
    ACCEPTED
    REJECTED
    RESULT_POSTED
    FAILED
    COMPLETED
    REFUNDED

flag JobOutcome:
    CONFIRMED
    RELEASED
    REJECTED
    FAILED
    TIMED_OUT

MIN_WINDOW: public(constant(uint256)) = states.MIN_WINDOW
MAX_WINDOW: public(constant(uint256)) = states.MAX_WINDOW
MAX_AMOUNT: public(constant(uint256)) = states.MAX_AMOUNT

REGISTRY: public(immutable(IRegistry))
CATALOG: public(immutable(ICatalog))


event JobSubmitted:
    job_id: indexed(uint256)
    requester: indexed(address)
    owner: indexed(address)
    token_id: uint256
    kind: uint8
    spec_hash: bytes32
    spec_uri: String[256]
    payment_token: address
    amount: uint256
    deadline: uint256

event JobAccepted:
    job_id: indexed(uint256)
    owner: indexed(address)

event JobRejected:
    job_id: indexed(uint256)
    owner: indexed(address)
    reason: String[256]

event ResultPosted:
    job_id: indexed(uint256)
    result_hash: bytes32
    result_uri: String[256]
    confirm_deadline: uint256

event JobFailed:
    job_id: indexed(uint256)
    owner: indexed(address)
    reason: String[256]

event FederatedRound:
    job_id: indexed(uint256)
    round: uint256
    aggregate_hash: bytes32

event JobSettled:
    job_id: indexed(uint256)
    outcome: indexed(JobOutcome)
    owner_credit: uint256
    requester_credit: uint256


# A job, unpacked (returned by `job()`). `deadline` is the time by which
# the owner must accept and post a result; `confirm_deadline` is set when
# the result is posted.
struct Job:
    requester: address
    owner: address
    token_id: uint256
    kind: uint8
    state: JobState
    spec_hash: bytes32
    payment_token: address
    amount: uint256
    deadline: uint256
    confirm_window: uint256
    confirm_deadline: uint256
    result_hash: bytes32
    rounds: uint256


_jobs: HashMap[uint256, Job]
job_count: public(uint256)


@deploy
def __init__(registry: address, catalog: address):
    """
    @notice Bind the jobs to the Registry (who may request) and the
            Catalog (who owns each dataset).
    @param registry The Datagora Registry.
    @param catalog The Datagora Catalog.
    """
    REGISTRY = IRegistry(registry)
    CATALOG = ICatalog(catalog)


@external
@payable
@nonreentrant
def submit(
    token_id: uint256,
    kind: uint8,
    spec_hash: bytes32,
    spec_uri: String[256],
    payment_token: address,
    amount: uint256,
    run_window: uint256,
    confirm_window: uint256,
) -> uint256:
    """
    @notice Ask the owner of dataset `token_id` to run a job on it: the
            payment goes into escrow until the job settles.
    @dev Ether: `msg.value` must equal `amount`; an ERC-20 is pulled with
         transferFrom (approve first) and `msg.value` must be 0.
    @param token_id The dataset's Catalog token id.
    @param kind KIND_SINGLE (0) or KIND_FEDERATED (1).
    @param spec_hash Keccak-256 of the EIP-712-signed job spec.
    @param spec_uri Where the spec, encrypted to the owner, can be fetched.
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    @param amount The payment, in the token's smallest unit (wei).
    @param run_window Seconds the owner has to accept and post a result.
    @param confirm_window Seconds the requester has to confirm a result.
    @return The new job's id (from 1).
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "compute: requester not audited"
    assert kind <= KIND_FEDERATED, "compute: bad kind"
    assert spec_hash != empty(bytes32), "compute: empty spec hash"
    assert amount > 0 and amount <= MAX_AMOUNT, "compute: bad amount"
    assert run_window >= MIN_WINDOW and run_window <= MAX_WINDOW, "compute: bad run window"
    assert confirm_window >= MIN_WINDOW and confirm_window <= MAX_WINDOW, "compute: bad confirm window"
    owner: address = staticcall CATALOG.ownerOf(token_id)
    assert owner != msg.sender, "compute: own dataset"
    escrow._check_token(payment_token)
    assert msg.value == escrow._ether_due(payment_token, amount), "compute: wrong value"
    job_id: uint256 = self.job_count + 1
    self.job_count = job_id
    deadline: uint256 = block.timestamp + run_window
    self._jobs[job_id] = Job(
        requester=msg.sender,
        owner=owner,
        token_id=token_id,
        kind=kind,
        state=JobState.SUBMITTED,
        spec_hash=spec_hash,
        payment_token=payment_token,
        amount=amount,
        deadline=deadline,
        confirm_window=confirm_window,
        confirm_deadline=0,
        result_hash=empty(bytes32),
        rounds=0,
    )
    log JobSubmitted(
        job_id=job_id,
        requester=msg.sender,
        owner=owner,
        token_id=token_id,
        kind=kind,
        spec_hash=spec_hash,
        spec_uri=spec_uri,
        payment_token=payment_token,
        amount=amount,
        deadline=deadline,
    )
    escrow._pull(payment_token, msg.sender, amount)
    return job_id


@external
def accept(job_id: uint256):
    """
    @notice The dataset's owner agrees to run the job before its deadline.
    @param job_id The submitted job.
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.SUBMITTED, "compute: job not submitted"
    assert job.owner == msg.sender, "compute: not owner"
    assert block.timestamp <= job.deadline, "compute: deadline passed"
    self._jobs[job_id].state = JobState.ACCEPTED
    log JobAccepted(job_id=job_id, owner=msg.sender)


@external
@nonreentrant
def reject(job_id: uint256, reason: String[256]):
    """
    @notice The dataset's owner refuses the job, saying why; the requester
            is refunded.
    @param job_id The submitted job.
    @param reason The rule the job breaks, in plain words (non-empty).
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.SUBMITTED, "compute: job not submitted"
    assert job.owner == msg.sender, "compute: not owner"
    assert len(reason) > 0, "compute: empty reason"
    log JobRejected(job_id=job_id, owner=msg.sender, reason=reason)
    self._settle(job_id, job, JobState.REJECTED, JobOutcome.REJECTED, 0, job.amount)


@external
def post_result(job_id: uint256, result_hash: bytes32, result_uri: String[256]):
    """
    @notice The owner commits to the job's result (encrypted to the
            requester) before the deadline; the confirmation window starts.
    @param job_id The accepted job.
    @param result_hash Keccak-256 of the result the requester receives.
    @param result_uri Where the encrypted result can be fetched.
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.ACCEPTED, "compute: job not accepted"
    assert job.owner == msg.sender, "compute: not owner"
    assert block.timestamp <= job.deadline, "compute: deadline passed"
    assert result_hash != empty(bytes32), "compute: empty result hash"
    confirm_deadline: uint256 = block.timestamp + job.confirm_window
    self._jobs[job_id].state = JobState.RESULT_POSTED
    self._jobs[job_id].result_hash = result_hash
    self._jobs[job_id].confirm_deadline = confirm_deadline
    log ResultPosted(job_id=job_id, result_hash=result_hash, result_uri=result_uri, confirm_deadline=confirm_deadline)


@external
@nonreentrant
def fail(job_id: uint256, reason: String[256]):
    """
    @notice The owner marks an accepted job failed (over its limits,
            crashed, refused at run time); the requester is refunded.
    @param job_id The accepted job.
    @param reason What went wrong, in plain words (non-empty).
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.ACCEPTED, "compute: job not accepted"
    assert job.owner == msg.sender, "compute: not owner"
    assert len(reason) > 0, "compute: empty reason"
    log JobFailed(job_id=job_id, owner=msg.sender, reason=reason)
    self._settle(job_id, job, JobState.FAILED, JobOutcome.FAILED, 0, job.amount)


@external
@nonreentrant
def confirm(job_id: uint256):
    """
    @notice The requester accepts the posted result: the owner is paid.
    @param job_id The job with a posted result.
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.RESULT_POSTED, "compute: no result posted"
    assert job.requester == msg.sender, "compute: not requester"
    self._settle(job_id, job, JobState.COMPLETED, JobOutcome.CONFIRMED, job.amount, 0)


@external
@nonreentrant
def release(job_id: uint256):
    """
    @notice After the confirmation window of a posted result anyone
            releases the payment to the owner.
    @param job_id The job with a posted result.
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.RESULT_POSTED, "compute: no result posted"
    assert block.timestamp > job.confirm_deadline, "compute: confirmation window open"
    self._settle(job_id, job, JobState.COMPLETED, JobOutcome.RELEASED, job.amount, 0)


@external
@nonreentrant
def refund(job_id: uint256):
    """
    @notice After the deadline of a job still submitted or accepted (no
            result posted) anyone refunds the requester.
    @param job_id The submitted or accepted job.
    """
    job: Job = self._jobs[job_id]
    assert job.state in (JobState.SUBMITTED | JobState.ACCEPTED), "compute: job not open"
    assert block.timestamp > job.deadline, "compute: deadline not passed"
    self._settle(job_id, job, JobState.REFUNDED, JobOutcome.TIMED_OUT, 0, job.amount)


@external
def record_round(job_id: uint256, round: uint256, aggregate_hash: bytes32):
    """
    @notice The requester (the federated aggregator) records the hash of
            the aggregate model of round `round` of a federated job.
    @param job_id An accepted federated job.
    @param round The round number: 1, then 2, ... (previous round + 1).
    @param aggregate_hash Keccak-256 of the aggregate model's parameters.
    """
    job: Job = self._jobs[job_id]
    assert job.state == JobState.ACCEPTED, "compute: job not accepted"
    assert job.requester == msg.sender, "compute: not requester"
    assert job.kind == KIND_FEDERATED, "compute: not federated"
    assert round == job.rounds + 1, "compute: wrong round"
    self._jobs[job_id].rounds = round
    log FederatedRound(job_id=job_id, round=round, aggregate_hash=aggregate_hash)


@external
@view
def job(job_id: uint256) -> Job:
    """
    @notice A job.
    @param job_id The job's id.
    @return The job (state 0 = no such job).
    """
    return self._jobs[job_id]


@internal
def _settle(job_id: uint256, job: Job, state: JobState, outcome: JobOutcome, owner_credit: uint256, requester_credit: uint256):
    """
    @notice Close a job: set its state and owe each party its credit.
    @param job_id The job.
    @param job The job as read before the change.
    @param state JobState.REJECTED, FAILED, COMPLETED or REFUNDED.
    @param outcome The settlement outcome (OUTCOME_*).
    @param owner_credit Owed to the owner, in the payment token.
    @param requester_credit Owed to the requester, in the payment token.
    """
    self._jobs[job_id].state = state
    log JobSettled(job_id=job_id, outcome=outcome, owner_credit=owner_credit, requester_credit=requester_credit)
    escrow._release(job.owner, job.payment_token, owner_credit)
    escrow._release(job.requester, job.payment_token, requester_credit)
