"""Plain models of compute-to-data jobs (Wang and Liu, EntDSM: the requester sends a model to the data owner, who
runs it on its own data and returns only the result). Numbers match ``contracts/ComputeJobs.vy``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class JobKind(IntEnum):
    """Who runs a job: one owner alone, or one participant of a federated run (one job per owner, same spec).
    Numbers from 0, not a flag (``KIND_SINGLE`` / ``KIND_FEDERATED`` of the contract): a flag would store 1 for a
    single job in a slot that stays zero today."""

    SINGLE = 0
    FEDERATED = 1


class JobState(IntEnum):
    """A compute job's state on chain (the contract's flag ``JobState``: powers of two; 0 is "no such job")."""

    SUBMITTED = 1
    ACCEPTED = 2
    REJECTED = 4
    RESULT_POSTED = 8
    FAILED = 16
    COMPLETED = 32
    REFUNDED = 64


class JobOutcome(IntEnum):
    """How a job settled (event ``JobSettled``; the contract's flag ``JobOutcome``: powers of two)."""

    CONFIRMED = 1
    RELEASED = 2
    REJECTED = 4
    FAILED = 8
    TIMED_OUT = 16


@dataclass(frozen=True)
class ComputeJob:
    """A job as the contract holds it. ``amount`` in the payment token's smallest unit (wei for ether, whose
    ``payment_token`` is the zero address); ``deadline`` (accept and post a result by) and ``confirm_deadline``
    (0 until a result is posted) in Unix seconds; ``confirm_window`` in seconds; hashes are 32 bytes
    (Keccak-256); ``rounds`` counts the federated rounds recorded."""

    job_id: int
    requester: str
    owner: str
    token_id: int
    kind: JobKind
    state: JobState
    spec_hash: bytes
    payment_token: str
    amount: int
    deadline: int
    confirm_window: int
    confirm_deadline: int
    result_hash: bytes
    rounds: int
