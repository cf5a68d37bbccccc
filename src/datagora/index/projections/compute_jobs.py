"""ComputeJobs events in the index: kept in the ``events`` table, which the audit trail, the owner's review desk
and the requester's job list read (a job's whole history is a handful of events, found by its indexed id)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from datagora.index.projections.base import ContractProjection
from datagora.index.schema import events

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


def submitted_spec_uri(engine: Engine, job_id: int) -> str | None:
    """Where the encrypted spec of compute job ``job_id`` lives (its ``JobSubmitted`` event's ``spec_uri``), read
    from the index's ``events`` table instead of the chain's logs; None when the index has not seen the job.
    Jobs are numbered in submission order, so the newest submissions are read first."""
    query = (
        select(events.c.args)
        .where(events.c.contract == "ComputeJobs", events.c.name == "JobSubmitted")
        .order_by(events.c.block_number.desc(), events.c.log_index.desc())
    )
    with engine.connect() as conn:
        for (raw,) in conn.execute(query):
            args = json.loads(raw)
            if int(args["job_id"]) == job_id:
                return str(args["spec_uri"])
            if int(args["job_id"]) < job_id:
                return None
    return None
