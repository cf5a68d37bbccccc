"""ComputeJobs events in the audit trail: compute-to-data jobs submitted, accepted or refused with the rule they
broke, results committed, failures, federated rounds and payments (Wang and Liu, EntDSM: the supervisor sees every
step)."""

from __future__ import annotations

from typing import Any

from datagora.domain.compute import JobOutcome
from datagora.services.audit.base import ZERO_ADDRESS, ContractTexts, Trail, amount, short_hash, when

SETTLED = {
    JobOutcome.CONFIRMED: "confirmed by the requester",
    JobOutcome.RELEASED: "released after the requester did not confirm",
    JobOutcome.REJECTED: "refunded: refused by the owner",
    JobOutcome.FAILED: "refunded: the job failed",
    JobOutcome.TIMED_OUT: "refunded: no result before the deadline",
}
KINDS = {0: "a compute job", 1: "a federated-learning job"}


def _job(trail: Trail, job_id: Any) -> tuple[str, str, str]:
    return trail.compute_jobs.get(int(job_id), ("", "", ZERO_ADDRESS))


def _submitted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    kind = KINDS.get(int(a["kind"]), f"a job of kind {a['kind']}")
    return (
        a["requester"],
        f"asked {a['owner']} to run {kind} (job {a['job_id']}, spec {short_hash(a['spec_hash'])}) on dataset "
        f"{a['token_id']}, paying {amount(int(a['amount']), a['payment_token'])} into escrow; due by "
        f"{when(int(a['deadline']))}",
    )


def _learn_submitted(trail: Trail, a: dict[str, Any]) -> None:
    trail.compute_jobs[int(a["job_id"])] = (str(a["requester"]), str(a["owner"]), str(a["payment_token"]))


def _accepted(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["owner"], f"accepted compute job {a['job_id']}"


def _rejected(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["owner"], f"refused compute job {a['job_id']}: {a['reason']}"


def _result(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    _requester, owner, _token = _job(trail, a["job_id"])
    return (
        owner,
        f"posted the result of compute job {a['job_id']} (hash {short_hash(a['result_hash'])}); confirmation due "
        f"by {when(int(a['confirm_deadline']))}",
    )


def _failed(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["owner"], f"marked compute job {a['job_id']} failed: {a['reason']}"


def _round(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    requester, _owner, _token = _job(trail, a["job_id"])
    return (
        requester,
        f"recorded federated round {a['round']} of job {a['job_id']} (aggregate {short_hash(a['aggregate_hash'])})",
    )


def _settled(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    requester, _owner, token = _job(trail, a["job_id"])
    code = int(a["outcome"])
    how = SETTLED[JobOutcome(code)] if code in JobOutcome._value2member_map_ else f"outcome {code}"
    return (
        requester,
        f"compute job {a['job_id']} settled, {how}: owner owed {amount(int(a['owner_credit']), token)}, requester "
        f"owed {amount(int(a['requester_credit']), token)}",
    )


def _parties(trail: Trail, a: dict[str, Any]) -> set[str]:
    requester, owner, _token = _job(trail, a["job_id"])
    return {p for p in (requester, owner) if p}


def _withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew {amount(int(a['amount']), a['payment_token'])} from compute jobs"


TEXTS = ContractTexts(
    "ComputeJobs",
    describe={
        "JobSubmitted": _submitted,
        "JobAccepted": _accepted,
        "JobRejected": _rejected,
        "ResultPosted": _result,
        "JobFailed": _failed,
        "FederatedRound": _round,
        "JobSettled": _settled,
        "Withdrawn": _withdrawn,
    },
    learn={"JobSubmitted": _learn_submitted},
    parties={
        "JobAccepted": _parties,
        "JobRejected": _parties,
        "ResultPosted": _parties,
        "JobFailed": _parties,
        "FederatedRound": _parties,
        "JobSettled": _parties,
    },
)
