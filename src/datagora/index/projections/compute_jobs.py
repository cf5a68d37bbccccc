"""ComputeJobs events in the index: kept in the ``events`` table, which the audit trail, the owner's review desk
and the requester's job list read (a job's whole history is a handful of events, found by its indexed id)."""

from __future__ import annotations

from datagora.index.projections.base import ContractProjection

PROJECTION = ContractProjection(
    "ComputeJobs",
    handlers={},
    ignored=frozenset(
        {
            "JobSubmitted",
            "JobAccepted",
            "JobRejected",
            "ResultPosted",
            "JobFailed",
            "FederatedRound",
            "JobSettled",
            "Withdrawn",
        }
    ),
)
